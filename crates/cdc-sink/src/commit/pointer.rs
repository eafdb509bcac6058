//! Compare-and-swap of a table's metadata pointer, per catalog kind.
//!
//! The snapshot producer ([`super`]) writes every file, including the new `metadata.json`,
//! before the swap; the swap is the single atomic step that publishes a commit. It succeeds
//! only if the table still points at the metadata the commit was planned on, so a concurrent
//! (stale or newer) writer can never be silently overwritten.

use iceberg::TableIdent;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

use crate::SinkError;

/// How a swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swap {
    /// The table now points at the new metadata.
    Done,
    /// The table no longer pointed at the expected metadata; nothing changed.
    Conflict,
}

/// The pointer of one catalog. SQL catalogs (the schema shared by iceberg-rust's
/// `SqlCatalog`, pyiceberg's `SqlCatalog` and Java's `JdbcCatalog`) swap with a conditional
/// `UPDATE`.
pub(crate) enum CatalogPointer {
    Sql(SqlPointer),
}

impl CatalogPointer {
    /// Points `ident` at `new` if it still points at `expected`. An `Err` means the outcome is
    /// unknown (the caller reads the table back to find out).
    pub async fn swap(
        &self,
        ident: &TableIdent,
        expected: &str,
        new: &str,
    ) -> Result<Swap, SinkError> {
        match self {
            CatalogPointer::Sql(sql) => sql.swap(ident, expected, new).await,
        }
    }
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
