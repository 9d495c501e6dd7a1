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
    /// The assistant (智能客服) and the item search: one guide index per tenant.
    pub assistant: crate::assistant::Assistant,
}

impl Hall {
    /// A hall over `iam` and `flow`.
    pub fn new(iam: Iam, flow: Flow) -> Self {
        Self {
            iam,
            flow,
            assistant: crate::assistant::Assistant::new(),
        }
    }
}
