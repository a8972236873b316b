//! The one table definition: key schema, indexes and billing mode. Local table
//! creation uses [`create_table`]; `template.yaml` repeats it for CloudFormation
//! and a test fails when the two drift.

use super::StoreError;
use super::keys::{Index, PK, SK};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

pub struct TableDef {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    pub indexes: &'static [IndexDef],
    /// DynamoDB on-demand capacity: pay per request, nothing provisioned.
    pub billing_mode: &'static str,
}

pub struct IndexDef {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// `KEYS_ONLY`: record updates never write the index.
    pub projection: &'static str,
}

pub const TABLE: TableDef = TableDef {
    partition_key: PK,
    sort_key: SK,
    indexes: &[
        index(Index::Gsi1),
        index(Index::Gsi2),
        index(Index::Gsi3),
        index(Index::Gsi4),
        index(Index::Gsi5),
    ],
    billing_mode: "PAY_PER_REQUEST",
};

/// Every index projects keys only: a listing reads the records by key.
const fn index(index: Index) -> IndexDef {
    IndexDef {
        name: index.name(),
        partition_key: index.partition_key(),
        sort_key: index.sort_key(),
        projection: "KEYS_ONLY",
    }
}

impl TableDef {
    /// Every key attribute of the table and its indexes (all strings).
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.partition_key, self.sort_key];
        for index in self.indexes {
            names.extend([index.partition_key, index.sort_key]);
        }
        names
    }
}

fn key_schema(partition: &str, sort: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(partition)
            .key_type(KeyType::Hash)
            .build()?,
        KeySchemaElement::builder()
            .attribute_name(sort)
            .key_type(KeyType::Range)
            .build()?,
    ])
}

/// Creates `name` as [`TABLE`] describes it (local development and tests; in AWS
/// the table comes from `template.yaml`).
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(TABLE.billing_mode))
        .set_key_schema(Some(key_schema(TABLE.partition_key, TABLE.sort_key)?));
    for attribute in TABLE.key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        );
    }
    for index in TABLE.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.partition_key, index.sort_key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()?,
        );
    }
    request.send().await.map_err(StoreError::from_sdk)?;
    Ok(())
}

/// True when the table exists (the dev server creates it on first start).
pub async fn table_exists(client: &Client, name: &str) -> Result<bool, StoreError> {
    match client.describe_table().table_name(name).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(StoreError::from_sdk(err)),
    }
}
