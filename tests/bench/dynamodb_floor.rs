//! The floor of every route under the fixed shape (`lambda_http`, the
//! production DynamoDB client set-up, one operation) with no domain code:
//! what the cold-start benchmark compares routes and hello-world against, to
//! tell what the shape costs from what our code costs.

use aws_sdk_dynamodb::types::AttributeValue;
use hal_crm::app::App;
use hal_crm::store::schema::TABLE;
use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The routes' logging set-up (what a route's main does before its App).
    hal_crm::lambda::init_logging();
    let app: &'static App = Box::leak(Box::new(App::from_env()?));
    run(service_fn(move |_: Request| async move {
        // Any key: a miss is a full GetItem round trip all the same.
        app.store
            .client()
            .get_item()
            .table_name(app.store.table())
            .key(TABLE.partition_key, AttributeValue::S("floor".into()))
            .key(TABLE.sort_key, AttributeValue::S("floor".into()))
            .send()
            .await?;
        Ok::<_, Error>(Response::new(Body::from("ok")))
    }))
    .await
}
