//! The HTTP client under the DynamoDB client: rustls with ring, trusting only
//! Amazon Trust Services' roots (every AWS endpoint chains to one). The SDK's
//! default client loads and parses the system's whole CA store when the client
//! is built — milliseconds of every cold start (docs/performance.md); five
//! embedded roots cost microseconds. Plain `http://` (DynamoDB Local) needs no
//! roots at all.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// Amazon Root CA 1–4 and Starfield Services Root G2 (Mozilla's CA store).
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../../certs/amazon-trust-services.pem");

pub fn http_client() -> SharedHttpClient {
    let roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES);
    let context = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a TLS context from static roots builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_holds_the_five_amazon_roots_and_the_client_builds() {
        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
        let _client = http_client();
    }
}
