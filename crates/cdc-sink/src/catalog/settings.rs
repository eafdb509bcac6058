//! `[iceberg.catalog]`: which Iceberg catalog holds the tables and how to reach it.
//!
//! ```toml
//! [iceberg.catalog]
//! type = "rest"                            # "sql" (default), "rest" or "glue"
//! uri = "https://catalog.example.com/api/catalog"
//! warehouse = "file:///srv/lake"           # REST: the warehouse name or location
//! token = { env = "ICEBERG_TOKEN" }        # optional bearer token
//! properties = { "header.X-Iceberg-Access-Delegation" = "vended-credentials" }
//! ```
//!
//! ```toml
//! [iceberg.catalog]
//! type = "glue"
//! warehouse = "s3://my-bucket/lake"        # where new tables are placed
//! region = "eu-west-1"                     # else the AWS default chain (AWS_REGION, profile)
//! access_key_id = { env = "AWS_ACCESS_KEY_ID" }   # optional; else the AWS default chain
//! secret_access_key = { env = "AWS_SECRET_ACCESS_KEY" }
//! ```

use std::collections::BTreeMap;

use cdc_ops::Secret;
use serde::Deserialize;

/// The kind of catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogKind {
    /// A SQL catalog (the schema of iceberg-rust's and pyiceberg's `SqlCatalog` and Java's
    /// `JdbcCatalog`) on SQLite: `<data_dir>/catalog.db`, warehouse `<data_dir>/warehouse`.
    #[default]
    Sql,
    /// An Iceberg REST catalog: the server writes table metadata; commits are REST commit
    /// requests asserting the table UUID and the base snapshot of `main`.
    Rest,
    /// AWS Glue Data Catalog (readable by Athena): we write the metadata and swap the Glue
    /// table's `metadata_location` with `UpdateTable` conditioned on the table's `VersionId`.
    Glue,
}

/// `[iceberg.catalog]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// `sql` (default), `rest` or `glue`.
    #[serde(rename = "type", default)]
    pub kind: CatalogKind,
    /// REST: required, the catalog's base URI (without `/v1`). Glue: optional endpoint URL
    /// (instead of AWS's regional endpoint).
    #[serde(default)]
    pub uri: Option<String>,
    /// REST: the warehouse, sent to the server's `/v1/config` (a name or a location,
    /// depending on the server). Glue: required, the `s3://` location new tables go under.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// REST: bearer token sent with every request. Never logged.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Glue: AWS region; default from the AWS environment (`AWS_REGION`, profile).
    #[serde(default)]
    pub region: Option<String>,
    /// Glue: AWS access key id; without it, the AWS default credential chain.
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    /// Glue: AWS secret access key (with `access_key_id`).
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Glue: AWS session token (with `access_key_id`).
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// Extra catalog and file IO properties. REST: `header.<name>` adds an HTTP header to every
    /// request. Glue and REST: `s3.endpoint`, `s3.path-style-access`, `s3.region`, ... for the
    /// table files; Glue: `catalog_id`. Values are treated as secrets and never logged.
    #[serde(default)]
    pub properties: BTreeMap<String, Secret>,
}

impl CatalogConfig {
    /// Checks the keys the kind needs and rejects keys it does not use.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self.kind {
            CatalogKind::Sql => {
                let unused = [
                    ("uri", self.uri.is_some()),
                    ("warehouse", self.warehouse.is_some()),
                    ("token", self.token.is_some()),
                    ("properties", !self.properties.is_empty()),
                    ("region", self.region.is_some()),
                    ("access_key_id", self.access_key_id.is_some()),
                ];
                if let Some((key, _)) = unused.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "iceberg.catalog.{key} is not used by the sql catalog (it lives in \
                         iceberg.data_dir)"
                    ));
                }
            }
            CatalogKind::Glue => {
                let warehouse = self.warehouse.as_deref().unwrap_or_default();
                if !(warehouse.starts_with("s3://") || warehouse.starts_with("s3a://")) {
                    return Err(format!(
                        "iceberg.catalog.warehouse must be an s3:// location for the glue \
                         catalog, found {warehouse:?}"
                    ));
                }
                if self.token.is_some() {
                    return Err("iceberg.catalog.token is not used by the glue catalog".into());
                }
                if self.access_key_id.is_some() != self.secret_access_key.is_some() {
                    return Err("iceberg.catalog.access_key_id and secret_access_key go \
                                together"
                        .into());
                }
            }
            CatalogKind::Rest => {
                let aws = [
                    ("region", self.region.is_some()),
                    ("access_key_id", self.access_key_id.is_some()),
                    ("secret_access_key", self.secret_access_key.is_some()),
                    ("session_token", self.session_token.is_some()),
                ];
                if let Some((key, _)) = aws.iter().find(|(_, set)| *set) {
                    return Err(format!(
                        "iceberg.catalog.{key} is not used by the rest catalog (file IO \
                         settings go in iceberg.catalog.properties, e.g. s3.region)"
                    ));
                }
                let uri = self.uri.as_deref().unwrap_or_default();
                if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                    return Err(format!(
                        "iceberg.catalog.uri must be an http:// or https:// URI for the rest \
                         catalog, found {uri:?}"
                    ));
                }
                for key in ["uri", "warehouse", "token", "credential"] {
                    if self.properties.contains_key(key) {
                        return Err(format!(
                            "iceberg.catalog.properties.{key} is not supported: use \
                             iceberg.catalog.{key} (OAuth2 client credentials are not supported; \
                             configure a token)"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The HTTP headers configured as `header.<name>` properties.
    pub(crate) fn headers(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.properties
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("header.").map(|name| (name, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CatalogConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn sql_is_the_default_and_takes_no_keys() {
        let c = parse("");
        assert_eq!(c.kind, CatalogKind::Sql);
        assert!(c.validate().is_ok());
        let err = parse("type = \"sql\"\nuri = \"http://x\"")
            .validate()
            .unwrap_err();
        assert!(err.contains("iceberg.catalog.uri"), "{err}");
    }

    #[test]
    fn rest_needs_an_http_uri_and_hides_secrets() {
        let err = parse("type = \"rest\"").validate().unwrap_err();
        assert!(err.contains("iceberg.catalog.uri"), "{err}");
        let c = parse(
            "type = \"rest\"\nuri = \"http://localhost:8181\"\ntoken = \"t0ps3cret\"\n\
             properties = { \"header.X-Tenant\" = \"h1dden\" }",
        );
        assert!(c.validate().is_ok());
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("t0ps3cret") && !shown.contains("h1dden"),
            "{shown}"
        );
        let headers: Vec<_> = c.headers().map(|(k, v)| (k, v.expose())).collect();
        assert_eq!(headers, [("X-Tenant", "h1dden")]);
    }

    #[test]
    fn glue_needs_an_s3_warehouse() {
        let err = parse("type = \"glue\"").validate().unwrap_err();
        assert!(err.contains("iceberg.catalog.warehouse"), "{err}");
        let c = parse(
            "type = \"glue\"\nwarehouse = \"s3://b/lake\"\nregion = \"eu-west-1\"\n\
             access_key_id = \"AKIA1\"\nsecret_access_key = \"sh-secret\"",
        );
        assert!(c.validate().is_ok());
        assert!(!format!("{c:?}").contains("sh-secret"));
        let err = parse("type = \"glue\"\nwarehouse = \"s3://b\"\naccess_key_id = \"A\"")
            .validate()
            .unwrap_err();
        assert!(err.contains("secret_access_key"), "{err}");
    }

    #[test]
    fn unknown_kinds_are_rejected() {
        assert!(toml::from_str::<CatalogConfig>("type = \"hive\"").is_err());
        let err =
            parse("type = \"rest\"\nuri = \"http://h\"\nproperties = { credential = \"a:b\" }")
                .validate()
                .unwrap_err();
        assert!(err.contains("credential"), "{err}");
    }
}
