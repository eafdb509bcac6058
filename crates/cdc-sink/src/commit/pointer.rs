//! Publishing a planned commit, per catalog kind.
//!
//! The snapshot producer ([`super`]) writes the data files, manifests and manifest list, then
//! plans the next table metadata ([`Planned`]): the finished metadata and the list of changes
//! ([`TableUpdate`]s) that led to it. Publishing is the single atomic step of a commit, and
//! succeeds only if the table is still at the base the commit was planned on, so a concurrent
//! (stale or newer) writer can never be silently overwritten:
//! - SQL catalogs (the schema shared by iceberg-rust's `SqlCatalog`, pyiceberg's `SqlCatalog`
//!   and Java's `JdbcCatalog`): we write the `metadata.json` and swap the pointer with a
//!   conditional `UPDATE`;
//! - AWS Glue: we write the `metadata.json` and swap the Glue table's `metadata_location`
//!   with `UpdateTable` conditioned on the Glue table version read;
//! - REST catalogs: the changes are sent with the requirements `assert-table-uuid` and
//!   `assert-ref-snapshot-id` (`main` at the base snapshot); the server writes the metadata.

use std::str::FromStr;

use iceberg::spec::{TableMetadataBuildResult, MAIN_BRANCH};
use iceberg::table::Table;
use iceberg::{MetadataLocation, TableIdent, TableRequirement};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

use super::glue::GluePointer;
use super::rest::RestPointer;
use crate::catalog::catalog_uri;
use crate::config::{CatalogKind, IcebergConfig};
use crate::SinkError;

/// How a publish ended.
#[derive(Debug)]
pub(crate) enum Swap {
    /// The table now holds the commit.
    Done,
    /// The table was no longer at the commit's base; nothing changed.
    Conflict,
    /// The catalog did not tell (the caller reads the table back to find out).
    Unknown(SinkError),
}

/// A commit ready to publish: the next metadata of `base`.
pub(crate) struct Planned<'a> {
    /// The table as the commit found it.
    pub base: &'a Table,
    /// `base`'s metadata location.
    pub base_location: &'a str,
    /// The next metadata and the changes that produced it.
    pub built: TableMetadataBuildResult,
}

/// The pointer of one catalog.
pub(crate) enum CatalogPointer {
    Sql(SqlPointer),
    Rest(RestPointer),
    Glue(GluePointer),
}

impl CatalogPointer {
    /// Connects to the catalog configured in `[iceberg]`.
    pub async fn connect(config: &IcebergConfig) -> Result<CatalogPointer, SinkError> {
        Ok(match config.catalog.kind {
            CatalogKind::Sql => CatalogPointer::Sql(
                SqlPointer::connect(&catalog_uri(&config.data_dir)?, &config.catalog_name).await?,
            ),
            CatalogKind::Rest => CatalogPointer::Rest(RestPointer::connect(&config.catalog).await?),
            CatalogKind::Glue => CatalogPointer::Glue(GluePointer::connect(&config.catalog).await?),
        })
    }

    /// Whether publishing asserts only the snapshot `main` points at (not the whole metadata).
    pub fn asserts_snapshot_only(&self) -> bool {
        matches!(self, CatalogPointer::Rest(_))
    }

    /// Publishes `planned` if the table is still at its base. `Err` means nothing was
    /// committed.
    pub async fn publish(&self, name: &str, planned: Planned<'_>) -> Result<Swap, SinkError> {
        let Planned {
            base,
            base_location,
            built,
        } = planned;
        let ident = base.identifier();
        match self {
            CatalogPointer::Sql(sql) => {
                let new = write_metadata(name, base, base_location, &built).await?;
                Ok(sql
                    .swap(ident, base_location, &new)
                    .await
                    .unwrap_or_else(Swap::Unknown))
            }
            CatalogPointer::Glue(glue) => {
                let new = write_metadata(name, base, base_location, &built).await?;
                glue.swap(ident, base_location, &new).await
            }
            CatalogPointer::Rest(rest) => {
                let md = base.metadata();
                let requirements = vec![
                    TableRequirement::UuidMatch { uuid: md.uuid() },
                    TableRequirement::RefSnapshotIdMatch {
                        r#ref: MAIN_BRANCH.to_owned(),
                        snapshot_id: md.current_snapshot_id(),
                    },
                ];
                rest.commit(ident, requirements, built.changes).await
            }
        }
    }
}

/// Writes the planned metadata next to `base_location` (next version number); returns its
/// location.
async fn write_metadata(
    name: &str,
    base: &Table,
    base_location: &str,
    built: &TableMetadataBuildResult,
) -> Result<String, SinkError> {
    let err = |e| SinkError::commit(name, e);
    let location = MetadataLocation::from_str(base_location)
        .map_err(err)?
        .with_next_version()
        .with_new_metadata(&built.metadata);
    built
        .metadata
        .write_to(base.file_io(), &location)
        .await
        .map_err(err)?;
    Ok(location.to_string())
}

/// Conditional updates of `iceberg_tables` through our own connection pool.
pub(crate) struct SqlPointer {
    pool: AnyPool,
    catalog_name: String,
}

impl SqlPointer {
    /// Connects to the catalog database at `uri` (an sqlx URL).
    pub async fn connect(uri: &str, catalog_name: &str) -> Result<SqlPointer, SinkError> {
        install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(2)
            .connect(uri)
            .await
            .map_err(|e| SinkError::CatalogDb {
                context: "cannot connect to the SQL catalog for commits".into(),
                source: e,
            })?;
        Ok(SqlPointer {
            pool,
            catalog_name: catalog_name.to_owned(),
        })
    }

    async fn swap(&self, ident: &TableIdent, expected: &str, new: &str) -> Result<Swap, SinkError> {
        let namespace = ident.namespace().join(".");
        let result = sqlx::query(
            "UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ? \
             WHERE catalog_name = ? AND table_namespace = ? AND table_name = ? \
             AND metadata_location = ? AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)",
        )
        .bind(new)
        .bind(expected)
        .bind(&self.catalog_name)
        .bind(&namespace)
        .bind(ident.name())
        .bind(expected)
        .execute(&self.pool)
        .await
        .map_err(|e| SinkError::CatalogDb {
            context: format!(
                "swapping the metadata pointer of {namespace}.{}",
                ident.name()
            ),
            source: e,
        })?;
        Ok(match result.rows_affected() {
            0 => Swap::Conflict,
            _ => Swap::Done,
        })
    }
}
