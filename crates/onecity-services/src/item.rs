//! Service items (事项) and the service `Hall` (issue 14: to be written).

use onecity_flow::Flow;
use onecity_iam::Iam;

/// The service hall: items, guides, forms and the assistant of every tenant.
#[derive(Clone)]
pub struct Hall {
    /// Identity, permissions, audit.
    pub iam: Iam,
    /// The workflow engine (forms feed cases).
    pub flow: Flow,
}

impl Hall {
    /// A hall over `iam` and `flow`.
    pub fn new(iam: Iam, flow: Flow) -> Self {
        Self { iam, flow }
    }
}

impl axum::extract::FromRef<Hall> for Iam {
    fn from_ref(hall: &Hall) -> Iam {
        hall.iam.clone()
    }
}
