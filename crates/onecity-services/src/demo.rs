//! The service hall's demo data for a demo tenant: the demo forms (`forms/*.json`, see
//! [`crate::forms::install_forms`]). Adds only what the tenant lacks, so it can run on
//! every start.

use crate::Hall;
use onecity_core::Result;

/// Installs the service hall's demo data in `tenant`.
pub async fn install(hall: &Hall, tenant: &str) -> Result<()> {
    crate::forms::install_forms(hall, tenant).await?;
    Ok(())
}
