//! The Iceberg catalog holding the sink's tables — the SQL catalog on SQLite
//! (`<data_dir>/catalog.db`, warehouse `<data_dir>/warehouse`), a REST catalog or AWS Glue —
//! and creating or loading tables in it.
//!
//! iceberg-rust creates the SQL catalog database (its schema has the `iceberg_type` column that
//! pyiceberg tolerates but does not create), so the sink must open it before any other writer.
//!
//! - `settings`: `[iceberg.catalog]` ([`settings::CatalogConfig`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use iceberg::spec::{Schema, UnboundPartitionSpec};
use iceberg::table::Table;
use iceberg::{Catalog, CatalogBuilder, NamespaceIdent, TableCreation, TableIdent};
use iceberg_catalog_glue::{
    GlueCatalogBuilder, AWS_ACCESS_KEY_ID, AWS_REGION_NAME, AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN, GLUE_CATALOG_PROP_URI, GLUE_CATALOG_PROP_WAREHOUSE,
};
use iceberg_catalog_rest::{
    RestCatalogBuilder, REST_CATALOG_PROP_URI, REST_CATALOG_PROP_WAREHOUSE,
};
use iceberg_catalog_sql::{
    SqlBindStyle, SqlCatalogBuilder, SQL_CATALOG_PROP_BIND_STYLE, SQL_CATALOG_PROP_URI,
    SQL_CATALOG_PROP_WAREHOUSE,
};

use iceberg_storage_opendal::OpenDalResolvingStorageFactory;

use crate::config::{CatalogKind, IcebergConfig};
use crate::SinkError;

/// Table property naming what the table holds (`changelog`, `mirror`, `history`).
pub(crate) const PROP_TABLE_KIND: &str = "cdc.table-kind";

pub(crate) mod settings;

/// An open catalog and the namespace changelog tables live in.
pub(crate) struct ChangelogCatalog {
    pub catalog: Box<dyn Catalog>,
    pub namespace: NamespaceIdent,
}

/// Absolute, UTF-8 paths of the catalog database and the warehouse, creating `data_dir`.
fn locations(data_dir: &Path) -> Result<(String, String), SinkError> {
    let io_err = |context: &str, path: &Path, source| SinkError::Io {
        context: format!("{context} {}", path.display()),
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(data_dir)
        .map_err(|e| io_err("cannot create iceberg.data_dir", data_dir, e))?;
    let abs: PathBuf = data_dir
        .canonicalize()
        .map_err(|e| io_err("cannot resolve iceberg.data_dir", data_dir, e))?;
    let warehouse = abs.join("warehouse");
    std::fs::create_dir_all(&warehouse)
        .map_err(|e| io_err("cannot create the warehouse directory", &warehouse, e))?;
    let Some(dir) = abs.to_str() else {
        return Err(SinkError::Config(format!(
            "iceberg.data_dir {} is not valid UTF-8",
            abs.display()
        )));
    };
    if dir.contains(['?', '#', '%']) {
        return Err(SinkError::Config(format!(
            "iceberg.data_dir {dir:?} must not contain `?`, `#` or `%` (it becomes part of URIs)"
        )));
    }
    Ok((
        format!("sqlite:{dir}/catalog.db?mode=rwc"),
        format!("file://{dir}/warehouse"),
    ))
}

/// The sqlx URL of the catalog database under `data_dir`.
pub(crate) fn catalog_uri(data_dir: &Path) -> Result<String, SinkError> {
    Ok(locations(data_dir)?.0)
}

impl ChangelogCatalog {
    /// Opens the catalog (creating the SQL catalog database if needed) and creates the
    /// namespace if needed.
    pub async fn open(config: &IcebergConfig) -> Result<ChangelogCatalog, SinkError> {
        let catalog = match config.catalog.kind {
            CatalogKind::Sql => open_sql(config).await?,
            CatalogKind::Rest => open_rest(config).await?,
            CatalogKind::Glue => open_glue(config).await?,
        };
        let namespace = NamespaceIdent::new(config.namespace.clone());
        let this = ChangelogCatalog { catalog, namespace };
        this.ensure_namespace().await?;
        Ok(this)
    }
}

/// Opens (creating if needed) the SQLite SQL catalog under `iceberg.data_dir`.
async fn open_sql(config: &IcebergConfig) -> Result<Box<dyn Catalog>, SinkError> {
    let (uri, warehouse) = locations(&config.data_dir)?;
    let props = HashMap::from([
        (SQL_CATALOG_PROP_URI.to_owned(), uri),
        (SQL_CATALOG_PROP_WAREHOUSE.to_owned(), warehouse),
        (
            SQL_CATALOG_PROP_BIND_STYLE.to_owned(),
            SqlBindStyle::QMark.to_string(),
        ),
    ]);
    let catalog = SqlCatalogBuilder::default()
        .with_storage_factory(Arc::new(iceberg::io::LocalFsStorageFactory))
        .load(config.catalog_name.clone(), props)
        .await
        .map_err(|e| {
            let context = format!(
                "cannot open the SQL catalog in {}",
                config.data_dir.display()
            );
            SinkError::catalog(context, e)
        })?;
    Ok(Box::new(catalog))
}

/// Opens the REST catalog at `iceberg.catalog.uri`. Table files are read and written through
/// OpenDAL (`file://` and `s3://` locations).
async fn open_rest(config: &IcebergConfig) -> Result<Box<dyn Catalog>, SinkError> {
    let settings = &config.catalog;
    let uri = settings.uri.clone().unwrap_or_default();
    let mut props: HashMap<String, String> = settings
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_owned()))
        .collect();
    props.insert(REST_CATALOG_PROP_URI.to_owned(), uri.clone());
    if let Some(warehouse) = &settings.warehouse {
        props.insert(REST_CATALOG_PROP_WAREHOUSE.to_owned(), warehouse.clone());
    }
    if let Some(token) = &settings.token {
        props.insert("token".to_owned(), token.expose().to_owned());
    }
    let catalog = RestCatalogBuilder::default()
        .with_storage_factory(Arc::new(OpenDalResolvingStorageFactory::new()))
        .load(config.catalog_name.clone(), props)
        .await
        .map_err(|e| SinkError::catalog(format!("cannot open the REST catalog at {uri}"), e))?;
    // The REST client connects lazily: fail here, before any table work, if it cannot.
    catalog
        .list_namespaces(None)
        .await
        .map_err(|e| SinkError::catalog(format!("cannot reach the REST catalog at {uri}"), e))?;
    Ok(Box::new(catalog))
}

/// Opens the AWS Glue Data Catalog (the Glue database is the namespace). Table files live on
/// S3 under `iceberg.catalog.warehouse`.
async fn open_glue(config: &IcebergConfig) -> Result<Box<dyn Catalog>, SinkError> {
    let settings = &config.catalog;
    let mut props: HashMap<String, String> = settings
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_owned()))
        .collect();
    let mut set = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            props.insert(key.to_owned(), value.to_owned());
        }
    };
    set(GLUE_CATALOG_PROP_URI, settings.uri.as_deref());
    set(GLUE_CATALOG_PROP_WAREHOUSE, settings.warehouse.as_deref());
    set(AWS_REGION_NAME, settings.region.as_deref());
    set(
        AWS_ACCESS_KEY_ID,
        settings.access_key_id.as_ref().map(|s| s.expose()),
    );
    set(
        AWS_SECRET_ACCESS_KEY,
        settings.secret_access_key.as_ref().map(|s| s.expose()),
    );
    set(
        AWS_SESSION_TOKEN,
        settings.session_token.as_ref().map(|s| s.expose()),
    );
    let catalog = GlueCatalogBuilder::default()
        .with_storage_factory(Arc::new(OpenDalResolvingStorageFactory::new()))
        .load(config.catalog_name.clone(), props)
        .await
        .map_err(|e| SinkError::catalog("cannot open the AWS Glue catalog", e))?;
    Ok(Box::new(catalog))
}

impl ChangelogCatalog {
    async fn ensure_namespace(&self) -> Result<(), SinkError> {
        let name = self.namespace.to_url_string();
        let exists = |e| SinkError::catalog(format!("cannot look up namespace {name}"), e);
        if self
            .catalog
            .namespace_exists(&self.namespace)
            .await
            .map_err(exists)?
        {
            return Ok(());
        }
        if let Err(e) = self
            .catalog
            .create_namespace(&self.namespace, HashMap::new())
            .await
        {
            // Another writer may have created it in the meantime.
            let exists = |e| SinkError::catalog(format!("cannot look up namespace {name}"), e);
            if !self
                .catalog
                .namespace_exists(&self.namespace)
                .await
                .map_err(exists)?
            {
                return Err(SinkError::catalog(
                    format!("cannot create namespace {name}"),
                    e,
                ));
            }
        }
        tracing::info!(namespace = %name, "iceberg namespace ready");
        Ok(())
    }

    /// What every table of the namespace holds: where each partition resumes.
    pub async fn resume_points(&self) -> Result<crate::resume::ResumePoints, SinkError> {
        let list = |e| {
            SinkError::catalog(
                format!(
                    "cannot list the tables of {}",
                    self.namespace.to_url_string()
                ),
                e,
            )
        };
        let mut points = crate::resume::ResumePoints::default();
        for ident in self
            .catalog
            .list_tables(&self.namespace)
            .await
            .map_err(list)?
        {
            let table = self.catalog.load_table(&ident).await.map_err(|e| {
                SinkError::catalog(format!("cannot load table {}", display_ident(&ident)), e)
            })?;
            points.add_table(table.metadata(), &display_ident(&ident))?;
        }
        Ok(points)
    }

    /// The identifier of the table called `name` in the changelog namespace.
    pub fn ident(&self, name: &str) -> TableIdent {
        TableIdent::new(self.namespace.clone(), name.to_owned())
    }

    /// Loads table `ident` (its schema evolves with the source: see `evolution`), or creates it
    /// with `schema` and `partition` (format v2).
    pub async fn ensure_table(
        &self,
        ident: &TableIdent,
        schema: &Schema,
        partition: Option<UnboundPartitionSpec>,
        kind: &str,
    ) -> Result<Table, SinkError> {
        let table_name = display_ident(ident);
        let lookup = |e| SinkError::catalog(format!("cannot look up table {table_name}"), e);
        if !self.catalog.table_exists(ident).await.map_err(lookup)? {
            let creation = TableCreation::builder()
                .name(ident.name().to_owned())
                .schema(schema.clone())
                .partition_spec_opt(partition)
                .properties(HashMap::from([
                    (
                        "write.parquet.compression-codec".to_owned(),
                        "zstd".to_owned(),
                    ),
                    (PROP_TABLE_KIND.to_owned(), kind.to_owned()),
                ]))
                .build();
            match self.catalog.create_table(&self.namespace, creation).await {
                Ok(table) => {
                    tracing::info!(table = %table_name, kind, "created table");
                    return Ok(table);
                }
                Err(e) => {
                    let lookup =
                        |e| SinkError::catalog(format!("cannot look up table {table_name}"), e);
                    if !self.catalog.table_exists(ident).await.map_err(lookup)? {
                        return Err(SinkError::catalog(
                            format!("cannot create table {table_name}"),
                            e,
                        ));
                    }
                }
            }
        }
        let table = self
            .catalog
            .load_table(ident)
            .await
            .map_err(|e| SinkError::catalog(format!("cannot load table {table_name}"), e))?;
        tracing::info!(table = %table_name, kind, "loaded table");
        Ok(table)
    }
}

/// `namespace.table`, as readers such as pyiceberg name it.
pub(crate) fn display_ident(ident: &TableIdent) -> String {
    format!("{}.{}", ident.namespace().join("."), ident.name())
}
