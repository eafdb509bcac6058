//! The AWS Glue Data Catalog's compare-and-swap: `UpdateTable` with the `VersionId` of the
//! Glue table version read, as Iceberg's own `GlueCatalog` (Java, and iceberg-rust's
//! `iceberg-catalog-glue`) commits, so Athena and every other Glue reader see the commit.
//!
//! The Glue table keeps its columns, storage descriptor and other parameters; its Iceberg
//! parameters become `table_type=ICEBERG`, `metadata_location=<new>` and
//! `previous_metadata_location=<base>`. Glue rejects the update with
//! `ConcurrentModificationException` if the table changed since the version read.

use std::collections::HashMap;

use aws_sdk_glue::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_glue::error::{DisplayErrorContext, SdkError};
use aws_sdk_glue::operation::update_table::UpdateTableError;
use aws_sdk_glue::types::TableInput;
use iceberg::TableIdent;

use super::pointer::Swap;
use crate::config::CatalogConfig;
use crate::SinkError;

/// Glue table parameter holding the current metadata file.
const METADATA_LOCATION: &str = "metadata_location";
/// Glue table parameter holding the metadata file before the last commit.
const PREVIOUS_METADATA_LOCATION: &str = "previous_metadata_location";
/// Glue table parameter marking an Iceberg table (value `ICEBERG`).
const TABLE_TYPE: &str = "table_type";

/// Conditional `UpdateTable` calls through our own Glue client.
pub(crate) struct GluePointer {
    client: aws_sdk_glue::Client,
    catalog_id: Option<String>,
}

fn glue_err(context: impl Into<String>, detail: impl ToString) -> SinkError {
    SinkError::CatalogRequest {
        context: context.into(),
        detail: detail.to_string(),
    }
}

impl GluePointer {
    /// A Glue client with the configured endpoint, region and credentials (else the AWS
    /// default chain).
    pub async fn connect(settings: &CatalogConfig) -> Result<GluePointer, SinkError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(uri) = &settings.uri {
            loader = loader.endpoint_url(uri);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            loader = loader.credentials_provider(Credentials::new(
                key.expose(),
                secret.expose(),
                settings
                    .session_token
                    .as_ref()
                    .map(|t| t.expose().to_owned()),
                None,
                "cdc-sink configuration",
            ));
        }
        let sdk = loader.load().await;
        Ok(GluePointer {
            client: aws_sdk_glue::Client::new(&sdk),
            catalog_id: settings
                .properties
                .get("catalog_id")
                .map(|v| v.expose().to_owned()),
        })
    }

    /// Points `ident` at `new` if its Glue table still points at `expected`. `Err` is a
    /// definite failure (nothing changed).
    pub async fn swap(
        &self,
        ident: &TableIdent,
        expected: &str,
        new: &str,
    ) -> Result<Swap, SinkError> {
        let database = ident.namespace().join(".");
        let context = format!("Glue table {database}.{}", ident.name());
        let read = self
            .client
            .get_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&database)
            .name(ident.name())
            .send()
            .await
            .map_err(|e| glue_err(format!("GetTable {context}"), DisplayErrorContext(e)))?;
        let Some(table) = read.table() else {
            return Err(glue_err(
                format!("GetTable {context}"),
                "no table in the answer",
            ));
        };
        let mut parameters: HashMap<String, String> =
            table.parameters().cloned().unwrap_or_default();
        if parameters.get(METADATA_LOCATION).map(String::as_str) != Some(expected) {
            return Ok(Swap::Conflict);
        }
        parameters.insert(TABLE_TYPE.to_owned(), "ICEBERG".to_owned());
        parameters.insert(METADATA_LOCATION.to_owned(), new.to_owned());
        parameters.insert(PREVIOUS_METADATA_LOCATION.to_owned(), expected.to_owned());
        let input = TableInput::builder()
            .name(table.name())
            .set_description(table.description().map(str::to_owned))
            .set_owner(table.owner().map(str::to_owned))
            .set_storage_descriptor(table.storage_descriptor().cloned())
            .set_partition_keys(Some(table.partition_keys().to_vec()))
            .table_type(table.table_type().unwrap_or("EXTERNAL_TABLE"))
            .set_parameters(Some(parameters))
            .build()
            .map_err(|e| glue_err(format!("UpdateTable {context}"), e))?;
        let sent = self
            .client
            .update_table()
            .set_catalog_id(self.catalog_id.clone())
            .database_name(&database)
            .table_input(input)
            .set_version_id(table.version_id().map(str::to_owned))
            .skip_archive(true)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Swap::Done),
            Err(SdkError::ServiceError(e)) => {
                let server = e.raw().status().is_server_error();
                match e.into_err() {
                    UpdateTableError::ConcurrentModificationException(_) => Ok(Swap::Conflict),
                    other if server => Ok(Swap::Unknown(glue_err(
                        format!("UpdateTable {context}"),
                        DisplayErrorContext(other),
                    ))),
                    other => Err(glue_err(
                        format!("UpdateTable {context}"),
                        DisplayErrorContext(other),
                    )),
                }
            }
            Err(e @ SdkError::ConstructionFailure(_)) => Err(glue_err(
                format!("UpdateTable {context}"),
                DisplayErrorContext(e),
            )),
            // Timeouts, lost connections, unreadable answers: the update may have happened.
            Err(e) => Ok(Swap::Unknown(glue_err(
                format!("UpdateTable {context}"),
                DisplayErrorContext(e),
            ))),
        }
    }
}
