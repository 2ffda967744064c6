//! `check_rls`: a health check that the database still backs up tenant
//! isolation for the role the pool connects as.

use sqlx::PgPool;

use crate::error::Result;

/// Tables with a `tenant_id` column outside the system schemas, with their
/// RLS flags and whether the connected role can act as their owner.
const TABLES: &str = "\
SELECT n.nspname::text, c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
       pg_has_role(current_user, c.relowner, 'MEMBER') \
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
WHERE c.relkind IN ('r', 'p') \
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
  AND EXISTS (SELECT 1 FROM pg_attribute a \
              WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
ORDER BY 1, 2";

/// Views (and materialized views) reading a table with a `tenant_id`
/// column, that run with their owner's rights rather than the caller's.
const VIEWS: &str = "\
SELECT DISTINCT n.nspname::text, c.relname::text \
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
JOIN pg_rewrite rw ON rw.ev_class = c.oid \
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refobjid <> c.oid \
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
WHERE c.relkind IN ('v', 'm') \
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
  AND (c.relkind = 'm' OR NOT EXISTS ( \
        SELECT 1 FROM unnest(COALESCE(c.reloptions, '{}'::text[])) o \
        WHERE lower(o) IN ('security_invoker=true', 'security_invoker=on', \
                           'security_invoker=1', 'security_invoker=yes'))) \
ORDER BY 1, 2";

/// Roles the connected role is or can become (`SET ROLE`) that are
/// superusers or bypass RLS (attributes are not inherited, but `SET ROLE`
/// takes them).
const POWERFUL: &str = "\
SELECT r.rolname::text, r.rolsuper, r.rolbypassrls \
FROM pg_roles r \
WHERE (r.rolsuper OR r.rolbypassrls) AND pg_has_role(current_user, r.oid, 'MEMBER') \
ORDER BY 1";

/// One way the database would not stop a cross-tenant query.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RlsFinding {
    /// A table with a `tenant_id` column has row-level security disabled.
    RlsDisabled {
        /// `schema.table`.
        table: String,
    },
    /// RLS is enabled but not forced: the table's owner is not bound by it.
    NotForced {
        /// `schema.table`.
        table: String,
    },
    /// A view over tenant data runs with its owner's rights (no
    /// `security_invoker`), or is a materialized view (a snapshot RLS does
    /// not filter per caller).
    ViewWithoutSecurityInvoker {
        /// `schema.view`.
        view: String,
    },
    /// The connected role is, or can become, a superuser.
    Superuser {
        /// The role with the attribute.
        role: String,
    },
    /// The connected role is, or can become, a role with BYPASSRLS.
    BypassRls {
        /// The role with the attribute.
        role: String,
    },
    /// The connected role owns (or can become the owner of) a tenant table,
    /// so it could disable or drop its policies.
    OwnsTable {
        /// `schema.table`.
        table: String,
    },
}

impl core::fmt::Display for RlsFinding {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::RlsDisabled { table } => write!(
                f,
                "table `{table}` has row-level security disabled: ALTER TABLE … ENABLE ROW LEVEL SECURITY"
            ),
            Self::NotForced { table } => write!(
                f,
                "table `{table}` does not force row-level security: ALTER TABLE … FORCE ROW LEVEL SECURITY"
            ),
            Self::ViewWithoutSecurityInvoker { view } => write!(
                f,
                "view `{view}` runs with its owner's rights: ALTER VIEW … SET (security_invoker = true)"
            ),
            Self::Superuser { role } => write!(
                f,
                "the application can act as superuser `{role}`, which ignores row-level security"
            ),
            Self::BypassRls { role } => write!(
                f,
                "the application can act as `{role}`, which has BYPASSRLS"
            ),
            Self::OwnsTable { table } => write!(
                f,
                "the application can act as the owner of `{table}` and so turn its policies off"
            ),
        }
    }
}

/// What [`check_rls`] found; empty when the database backs up isolation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RlsReport {
    /// Every finding, tables first.
    pub findings: Vec<RlsFinding>,
    /// How many tenant tables were checked.
    pub tables_checked: usize,
}

impl RlsReport {
    /// True when nothing was found.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Check, as the role `pool` connects with (run it with the application's
/// pool, e.g. at start-up and in a readiness probe): every table with a
/// `tenant_id` column enables and forces RLS and is not owned by this
/// role; no view over such a table runs without `security_invoker`; the
/// role is not and cannot become a superuser or a BYPASSRLS role.
///
/// # Errors
/// [`PgError::Unavailable`](crate::PgError::Unavailable) when the catalog
/// cannot be read.
pub async fn check_rls(pool: &PgPool) -> Result<RlsReport> {
    let mut report = RlsReport::default();
    let tables: Vec<(String, String, bool, bool, bool)> =
        sqlx::query_as(TABLES).fetch_all(pool).await?;
    report.tables_checked = tables.len();
    for (schema, name, enabled, forced, owned) in tables {
        let table = format!("{schema}.{name}");
        if !enabled {
            report.findings.push(RlsFinding::RlsDisabled {
                table: table.clone(),
            });
        } else if !forced {
            report.findings.push(RlsFinding::NotForced {
                table: table.clone(),
            });
        }
        if owned {
            report.findings.push(RlsFinding::OwnsTable { table });
        }
    }
    let views: Vec<(String, String)> = sqlx::query_as(VIEWS).fetch_all(pool).await?;
    for (schema, name) in views {
        report
            .findings
            .push(RlsFinding::ViewWithoutSecurityInvoker {
                view: format!("{schema}.{name}"),
            });
    }
    let roles: Vec<(String, bool, bool)> = sqlx::query_as(POWERFUL).fetch_all(pool).await?;
    for (role, superuser, bypass) in roles {
        if superuser {
            report
                .findings
                .push(RlsFinding::Superuser { role: role.clone() });
        }
        if bypass {
            report.findings.push(RlsFinding::BypassRls { role });
        }
    }
    Ok(report)
}
