//! Dev tokens: HS256 JWTs with `sub`, `exp`, `iss` = `hal-local` and
//! `aud` = `hal-api`, checked the way the HTTP API's JWT authorizer checks
//! deployed tokens (the signing algorithm, `iss`, `aud`, `exp` past now,
//! `nbf` and `iat` not in the future, no leeway), and handed on as its
//! claims map (every value a string).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub const ISSUER: &str = "hal-local";
pub const AUDIENCE: &str = "hal-api";

#[derive(Clone)]
pub struct DevJwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl DevJwt {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        DevJwt {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// A token for `sub`, valid for `ttl_seconds`.
    pub fn mint(&self, sub: &str, ttl_seconds: i64) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({ "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_seconds });
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of a JSON object cannot fail")
    }

    /// The claims of a valid token, as API Gateway's authorizer passes them on.
    pub fn verify(&self, token: &str) -> Option<BTreeMap<String, String>> {
        let data = decode::<Map<String, Value>>(token, &self.decoding, &self.validation).ok()?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if data
            .claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now)
        {
            return None;
        }
        Some(
            data.claims
                .into_iter()
                .map(|(name, value)| {
                    let text = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (name, text)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_its_own_tokens_and_passes_claims_as_strings() {
        let jwt = DevJwt::new("s");
        let claims = jwt.verify(&jwt.mint("u-1", 60)).unwrap();
        assert_eq!(claims["sub"], "u-1");
        assert_eq!(claims["iss"], ISSUER);
        assert!(claims["exp"].parse::<i64>().is_ok());
    }

    #[test]
    fn refuses_other_secrets_expired_tokens_and_wrong_audience() {
        let jwt = DevJwt::new("s");
        assert!(jwt.verify(&DevJwt::new("other").mint("u", 60)).is_none());
        assert!(jwt.verify(&jwt.mint("u", -120)).is_none());
        let claims =
            json!({ "sub": "u", "iss": ISSUER, "aud": "someone-else", "exp": i64::MAX / 2 });
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s"),
        )
        .unwrap();
        assert!(jwt.verify(&token).is_none());
        assert!(jwt.verify("not.a.token").is_none());
    }

    #[test]
    fn refuses_tokens_not_yet_valid_and_other_algorithms() {
        let jwt = DevJwt::new("s");
        let later = OffsetDateTime::now_utc().unix_timestamp() + 600;
        for claim in ["nbf", "iat"] {
            let mut claims =
                json!({ "sub": "u", "iss": ISSUER, "aud": AUDIENCE, "exp": later + 600 });
            claims[claim] = json!(later);
            let token = encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(b"s"),
            )
            .unwrap();
            assert!(jwt.verify(&token).is_none(), "{claim} in the future");
        }
        let claims = json!({ "sub": "u", "iss": ISSUER, "aud": AUDIENCE, "exp": later });
        let token = encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(b"s"),
        )
        .unwrap();
        assert!(jwt.verify(&token).is_none(), "HS384");
    }
}
