//! Flow definitions as data: states, actions, roles, SLAs, escalation and reopen rules.
//!
//! A definition is a JSON document (see `flows/*.json` in this crate for the shipped
//! examples, among them eGov DIGIT's PGR complaint flow). It is validated as a whole on
//! load: [`FlowDefinition::parse`] returns every problem it finds, not just the first.
//! Definitions are versioned by the store; a running case keeps the version it started on.
//!
//! Anchors: eGov DIGIT's workflow service (business services with states, actions, roles,
//! SLA and auto-escalation) and its PGR flow (APPLY → PENDINGFORASSIGNMENT → ASSIGN →
//! PENDINGATLME → RESOLVE → RESOLVED → RATE → CLOSEDAFTERRESOLUTION, with REJECT, REASSIGN
//! and REOPEN), and China's 12345 hotline cycle.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

/// Roles every definition may use without declaring them: the case's applicant, its
/// current assignee, and the platform itself (the SLA scheduler).
pub const PSEUDO_ROLES: &[&str] = &["APPLICANT", "ASSIGNEE", "SYSTEM"];

/// A span of time, counted on the case's working-day calendar or in wall-clock hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Span {
    /// Working days: the deadline is the end of the n-th working day after the start day.
    WorkingDays(u32),
    /// Working hours: only the calendar's working intervals count.
    WorkingHours(f64),
    /// Wall-clock hours (emergencies: "same day" rules that ignore the calendar).
    Hours(f64),
}

impl Span {
    /// Positive and at most ten years (3,650 working days, 87,600 hours), so that every
    /// deadline can be computed.
    fn positive(&self) -> bool {
        match *self {
            Span::WorkingDays(d) => d > 0 && d <= 3_650,
            Span::WorkingHours(h) | Span::Hours(h) => h.is_finite() && h > 0.0 && h <= 87_600.0,
        }
    }
}

/// The service level of a state: when it is due, and how long before that a warning goes out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    /// Time allowed in the state.
    pub due: Span,
    /// Warn this long before the due time (optional).
    pub warn_before: Option<Span>,
}

/// When a state's clock starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockStart {
    /// When the case enters the state (default).
    #[default]
    OnEntry,
    /// When an assignee claims (signs for, 签收) the case in this state.
    OnClaim,
}

/// What an escalation step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum EscalationStep {
    /// Notify the holders of these roles.
    Notify {
        /// Roles to notify.
        roles: Vec<String>,
    },
    /// Take the case away from its assignee and put it in the queue of a role (a
    /// supervisor); the case stays in its state.
    Reassign {
        /// Role whose holders receive the case.
        role: String,
    },
    /// Take an action as `SYSTEM` (it must be allowed for `SYSTEM`).
    Action {
        /// Action key.
        action: String,
    },
}

/// An automatic escalation: after `after` in the state, do `then`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Time in the state (from its clock start) before the step runs.
    pub after: Span,
    /// The step.
    pub then: EscalationStep,
}

/// A state of the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateDef {
    /// Key, e.g. `PENDINGATLME`.
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display name in Chinese.
    #[serde(default)]
    pub name_zh: Option<String>,
    /// The state a case starts in (exactly one).
    #[serde(default)]
    pub start: bool,
    /// A final state: the case is closed here.
    #[serde(default)]
    pub terminal: bool,
    /// Whether the case's data may be edited in this state.
    #[serde(default)]
    pub updatable: bool,
    /// Service level of the state.
    #[serde(default)]
    pub sla: Option<Sla>,
    /// When the state's clock starts.
    #[serde(default)]
    pub clock: ClockStart,
    /// Automatic escalation steps, in order of `after`.
    #[serde(default)]
    pub escalations: Vec<Escalation>,
}

/// An action: moves a case from one of `from` to `to`, for holders of `roles`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Key, e.g. `ASSIGN`.
    pub key: String,
    /// States it may be taken in.
    pub from: Vec<String>,
    /// State it leads to (may equal a `from` state: a self-loop such as `ESCALATE`).
    pub to: String,
    /// Roles allowed to take it (declared roles or `APPLICANT`, `ASSIGNEE`, `SYSTEM`).
    pub roles: Vec<String>,
    /// Fields the request must carry (non-empty), e.g. `["assignee"]` or `["comment"]`.
    #[serde(default)]
    pub required: Vec<String>,
    /// A reopen action: allowed only within the flow's reopen window after the case
    /// reached its state.
    #[serde(default)]
    pub reopen: bool,
    /// Extra event names to publish when taken (besides the standard transition event).
    #[serde(default)]
    pub events: Vec<String>,
}

/// A whole flow definition (a DIGIT "business service").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowDefinition {
    /// Key, e.g. `pgr` (ASCII letters, digits, `-_.`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Display name in Chinese.
    #[serde(default)]
    pub name_zh: Option<String>,
    /// Owning module, e.g. `governance`, `services`, `catalog`.
    pub module: String,
    /// Declared roles.
    pub roles: Vec<String>,
    /// States.
    pub states: Vec<StateDef>,
    /// Actions.
    pub actions: Vec<ActionDef>,
    /// Whole-case service level (from creation).
    #[serde(default)]
    pub sla: Option<Sla>,
    /// How long after reaching a state a `reopen` action stays allowed.
    #[serde(default)]
    pub reopen_window: Option<Span>,
}

fn key_ok(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What kind of problem a definition has: a stable code that clients translate (the flow
/// designer shows each in Chinese or English), beside the English sentence in
/// [`DefinitionProblem::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The text is not JSON of a flow definition (syntax, unknown field, wrong type);
    /// `detail` says what the JSON parser found. Only this problem is listed then.
    NotADefinition,
    /// The flow key is not 1 to 64 ASCII letters, digits, `-`, `_` or `.` (`value`).
    InvalidFlowKey,
    /// The flow's name is empty.
    EmptyName,
    /// A state key is not a valid key (`state`).
    InvalidStateKey,
    /// Two states have the same key (`state`).
    DuplicateState,
    /// A state is marked both start and terminal (`state`).
    StartAndTerminal,
    /// A span is zero, negative or over ten years: `field` names it (`sla.due`,
    /// `sla.warn_before`, `reopen_window`, `after`), `state` and `escalation` where it is.
    SpanOutOfRange,
    /// No state is marked start.
    NoStartState,
    /// Several states are marked start (`states`).
    SeveralStartStates,
    /// An action key is not a valid key (`action`).
    InvalidActionKey,
    /// An action has no `from` states (`action`).
    ActionWithoutFrom,
    /// An action starts from a state that is not defined (`action`, `state`).
    FromUndefinedState,
    /// A non-reopen action starts from a terminal state (`action`, `state`).
    FromTerminalState,
    /// The same action key is defined twice for one state (`action`, `state`).
    DuplicateAction,
    /// An action leads to a state that is not defined (`action`, `state`).
    ToUndefinedState,
    /// An action allows no roles (`action`).
    ActionWithoutRoles,
    /// An action names a role the flow does not declare (`action`, `role`).
    UndeclaredRole,
    /// A reopen action in a flow without `reopen_window` (`action`).
    ReopenWithoutWindow,
    /// An escalation notifies an undeclared role (`state`, `escalation`, `role`).
    EscalationUndeclaredRole,
    /// An escalation reassigns to an undeclared role (`state`, `escalation`, `role`).
    EscalationReassignUndeclared,
    /// An escalation takes an action `SYSTEM` cannot take in that state (`state`,
    /// `escalation`, `action`).
    EscalationActionNotAllowed,
    /// A state that is not terminal has no action leaving it (`state`).
    DeadEnd,
    /// No state is terminal.
    NoTerminalState,
    /// No chain of actions reaches the state from the start state (`state`).
    UnreachableState,
}

/// One problem of a flow definition. `code` says what kind; the other fields name what
/// the problem is about (absent when not applicable), so that a designer can point at
/// the state or action; `message` is the problem as one English sentence (the same text
/// as in a refused save's `errors`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DefinitionProblem {
    /// What kind of problem.
    pub code: ProblemCode,
    /// The state named (for actions: the undefined or terminal state it names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Several states (`several_start_states`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<String>,
    /// The action named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The role named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Which escalation of the state, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<usize>,
    /// Which field (`sla.due`, `sla.warn_before`, `reopen_window`, `after`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The offending value (`invalid_flow_key`) or the JSON parser's words
    /// (`not_a_definition`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The problem in one English sentence.
    pub message: String,
}

impl DefinitionProblem {
    fn new(code: ProblemCode, message: String) -> DefinitionProblem {
        DefinitionProblem {
            code,
            state: None,
            states: Vec::new(),
            action: None,
            role: None,
            escalation: None,
            field: None,
            detail: None,
            message,
        }
    }
    fn state(mut self, key: &str) -> Self {
        self.state = Some(key.to_string());
        self
    }
    fn action(mut self, key: &str) -> Self {
        self.action = Some(key.to_string());
        self
    }
    fn role(mut self, role: &str) -> Self {
        self.role = Some(role.to_string());
        self
    }
    fn escalation(mut self, index: usize) -> Self {
        self.escalation = Some(index);
        self
    }
    fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }
    fn detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl FlowDefinition {
    /// Parses and validates a JSON definition.
    ///
    /// Errors: every problem found (syntax, unknown fields, no or several start states,
    /// actions from or to undefined states, undeclared roles, unreachable states, dead
    /// ends, escalations naming actions that cannot be taken, non-positive spans), as
    /// English sentences; [`FlowDefinition::check`] gives them with their codes.
    pub fn parse(json: &str) -> Result<FlowDefinition, Vec<String>> {
        FlowDefinition::check(json)
            .map_err(|problems| problems.into_iter().map(|p| p.message).collect())
    }

    /// Parses and validates a JSON definition, like [`FlowDefinition::parse`], returning
    /// every problem with its code and the states, actions and roles it names. Text that
    /// is not a definition at all gives one `not_a_definition` problem.
    pub fn check(json: &str) -> Result<FlowDefinition, Vec<DefinitionProblem>> {
        let def: FlowDefinition = serde_json::from_str(json).map_err(|e| {
            vec![DefinitionProblem::new(
                ProblemCode::NotADefinition,
                format!("not a valid flow definition: {e}"),
            )
            .detail(e.to_string())]
        })?;
        let problems = def.coded_problems();
        if problems.is_empty() {
            Ok(def)
        } else {
            Err(problems)
        }
    }

    /// Every problem of the definition as English sentences (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        self.coded_problems()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    /// Every problem of the definition with its code (empty when valid), in a fixed order:
    /// flow fields, states, start states, actions, flow spans, escalations, dead ends,
    /// closure, reachability.
    pub fn coded_problems(&self) -> Vec<DefinitionProblem> {
        use ProblemCode as C;
        let problem = DefinitionProblem::new;
        let mut p = Vec::new();
        if !key_ok(&self.key) {
            p.push(
                problem(
                    C::InvalidFlowKey,
                    format!(
                        "key {:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'",
                        self.key
                    ),
                )
                .detail(self.key.clone()),
            );
        }
        if self.name.trim().is_empty() {
            p.push(problem(C::EmptyName, "name must not be empty".into()));
        }
        let roles: HashSet<&str> = self
            .roles
            .iter()
            .map(String::as_str)
            .chain(PSEUDO_ROLES.iter().copied())
            .collect();
        let mut states = HashMap::new();
        for s in &self.states {
            if !key_ok(&s.key) {
                p.push(
                    problem(
                        C::InvalidStateKey,
                        format!("state key {:?} is not a valid key", s.key),
                    )
                    .state(&s.key),
                );
            }
            if states.insert(s.key.as_str(), s).is_some() {
                p.push(
                    problem(
                        C::DuplicateState,
                        format!("state {:?} is defined twice", s.key),
                    )
                    .state(&s.key),
                );
            }
            if s.start && s.terminal {
                p.push(
                    problem(
                        C::StartAndTerminal,
                        format!("state {:?} is both start and terminal", s.key),
                    )
                    .state(&s.key),
                );
            }
            if let Some(sla) = &s.sla {
                check_sla(&mut p, &format!("state {:?}", s.key), Some(&s.key), sla);
            }
        }
        let starts: Vec<&str> = self
            .states
            .iter()
            .filter(|s| s.start)
            .map(|s| s.key.as_str())
            .collect();
        match starts.len() {
            0 => p.push(problem(
                C::NoStartState,
                "no start state: mark exactly one state with \"start\": true".into(),
            )),
            1 => {}
            _ => {
                let mut several = problem(
                    C::SeveralStartStates,
                    format!("several start states: {}", starts.join(", ")),
                );
                several.states = starts.iter().map(|s| s.to_string()).collect();
                p.push(several);
            }
        }
        let mut seen = HashSet::new();
        for a in &self.actions {
            if !key_ok(&a.key) {
                p.push(
                    problem(
                        C::InvalidActionKey,
                        format!("action key {:?} is not a valid key", a.key),
                    )
                    .action(&a.key),
                );
            }
            if a.from.is_empty() {
                p.push(
                    problem(
                        C::ActionWithoutFrom,
                        format!("action {:?} has no from states", a.key),
                    )
                    .action(&a.key),
                );
            }
            for f in &a.from {
                if !states.contains_key(f.as_str()) {
                    p.push(
                        problem(
                            C::FromUndefinedState,
                            format!("action {:?} starts from undefined state {f:?}", a.key),
                        )
                        .action(&a.key)
                        .state(f),
                    );
                } else if states[f.as_str()].terminal && !a.reopen {
                    p.push(
                        problem(
                            C::FromTerminalState,
                            format!(
                                "action {:?} starts from terminal state {f:?} (only reopen actions may)",
                                a.key
                            ),
                        )
                        .action(&a.key)
                        .state(f),
                    );
                }
                if !seen.insert((a.key.as_str(), f.as_str())) {
                    p.push(
                        problem(
                            C::DuplicateAction,
                            format!("action {:?} is defined twice for state {f:?}", a.key),
                        )
                        .action(&a.key)
                        .state(f),
                    );
                }
            }
            if !states.contains_key(a.to.as_str()) {
                p.push(
                    problem(
                        C::ToUndefinedState,
                        format!("action {:?} leads to undefined state {:?}", a.key, a.to),
                    )
                    .action(&a.key)
                    .state(&a.to),
                );
            }
            if a.roles.is_empty() {
                p.push(
                    problem(
                        C::ActionWithoutRoles,
                        format!("action {:?} allows no roles", a.key),
                    )
                    .action(&a.key),
                );
            }
            for r in &a.roles {
                if !roles.contains(r.as_str()) {
                    p.push(
                        problem(
                            C::UndeclaredRole,
                            format!(
                                "action {:?} names undeclared role {r:?} (declared: {})",
                                a.key,
                                self.roles.join(", ")
                            ),
                        )
                        .action(&a.key)
                        .role(r),
                    );
                }
            }
            if a.reopen && self.reopen_window.is_none() {
                p.push(
                    problem(
                        C::ReopenWithoutWindow,
                        format!(
                            "action {:?} is a reopen action but the flow has no reopen_window",
                            a.key
                        ),
                    )
                    .action(&a.key),
                );
            }
        }
        if let Some(sla) = &self.sla {
            check_sla(&mut p, "the flow", None, sla);
        }
        if let Some(w) = &self.reopen_window {
            if !w.positive() {
                p.push(
                    problem(
                        C::SpanOutOfRange,
                        "reopen_window must be positive and at most ten years".into(),
                    )
                    .field("reopen_window"),
                );
            }
        }
        // Escalations.
        for s in &self.states {
            for (i, e) in s.escalations.iter().enumerate() {
                if !e.after.positive() {
                    p.push(
                        problem(
                            C::SpanOutOfRange,
                            format!(
                                "state {:?} escalation {i}: after must be positive and at most ten years",
                                s.key
                            ),
                        )
                        .state(&s.key)
                        .escalation(i)
                        .field("after"),
                    );
                }
                match &e.then {
                    EscalationStep::Notify { roles: rs } => {
                        for r in rs {
                            if !roles.contains(r.as_str()) {
                                p.push(
                                    problem(
                                        C::EscalationUndeclaredRole,
                                        format!(
                                            "state {:?} escalation {i} notifies undeclared role {r:?}",
                                            s.key
                                        ),
                                    )
                                    .state(&s.key)
                                    .escalation(i)
                                    .role(r),
                                );
                            }
                        }
                    }
                    EscalationStep::Reassign { role } => {
                        if !self.roles.contains(role) {
                            p.push(
                                problem(
                                    C::EscalationReassignUndeclared,
                                    format!(
                                        "state {:?} escalation {i} reassigns to undeclared role {role:?}",
                                        s.key
                                    ),
                                )
                                .state(&s.key)
                                .escalation(i)
                                .role(role),
                            );
                        }
                    }
                    EscalationStep::Action { action } => {
                        let ok = self.actions.iter().any(|a| {
                            &a.key == action
                                && a.from.contains(&s.key)
                                && a.roles.iter().any(|r| r == "SYSTEM")
                        });
                        if !ok {
                            p.push(
                                problem(
                                    C::EscalationActionNotAllowed,
                                    format!(
                                        "state {:?} escalation {i} takes action {action:?}, which SYSTEM cannot take in that state",
                                        s.key
                                    ),
                                )
                                .state(&s.key)
                                .escalation(i)
                                .action(action),
                            );
                        }
                    }
                }
            }
        }
        // Dead ends and closure.
        for s in &self.states {
            let leaves = self.actions.iter().any(|a| a.from.contains(&s.key));
            if !s.terminal && !leaves {
                p.push(
                    problem(
                        C::DeadEnd,
                        format!("state {:?} is not terminal but no action leaves it", s.key),
                    )
                    .state(&s.key),
                );
            }
        }
        if !self.states.iter().any(|s| s.terminal) {
            p.push(problem(
                C::NoTerminalState,
                "no terminal state: a case could never close".into(),
            ));
        }
        // Reachability.
        if let [start] = starts.as_slice() {
            let mut reach: BTreeSet<&str> = BTreeSet::new();
            let mut q = VecDeque::from([*start]);
            while let Some(s) = q.pop_front() {
                if !reach.insert(s) {
                    continue;
                }
                for a in self
                    .actions
                    .iter()
                    .filter(|a| a.from.iter().any(|f| f == s))
                {
                    q.push_back(a.to.as_str());
                }
            }
            for s in &self.states {
                if !reach.contains(s.key.as_str()) {
                    p.push(
                        problem(
                            C::UnreachableState,
                            format!(
                                "state {:?} is unreachable from the start state {start:?}",
                                s.key
                            ),
                        )
                        .state(&s.key),
                    );
                }
            }
        }
        p
    }

    /// The start state.
    pub fn start_state(&self) -> &StateDef {
        self.states
            .iter()
            .find(|s| s.start)
            .expect("validated: one start state")
    }

    /// A state by key.
    pub fn state(&self, key: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.key == key)
    }

    /// The actions that may be taken in `state`.
    pub fn actions_from(&self, state: &str) -> std::vec::IntoIter<&ActionDef> {
        let v: Vec<&ActionDef> = self
            .actions
            .iter()
            .filter(|a| a.from.iter().any(|f| f == state))
            .collect();
        v.into_iter()
    }
}

fn check_sla(p: &mut Vec<DefinitionProblem>, what: &str, state: Option<&str>, sla: &Sla) {
    let mut out_of_range = |field: &str| {
        let mut problem = DefinitionProblem::new(
            ProblemCode::SpanOutOfRange,
            format!("{what}: {field} must be positive and at most ten years"),
        )
        .field(field);
        if let Some(key) = state {
            problem = problem.state(key);
        }
        p.push(problem);
    };
    if !sla.due.positive() {
        out_of_range("sla.due");
    }
    if let Some(w) = &sla.warn_before {
        if !w.positive() {
            out_of_range("sla.warn_before");
        }
    }
}

/// The definitions shipped with onecity (`flows/*.json`): DIGIT's PGR complaint flow, the
/// 12345 hotline work-order cycle, and a multi-department approval.
pub fn shipped() -> Vec<(&'static str, &'static str)> {
    vec![
        ("pgr", include_str!("../flows/pgr.json")),
        ("hotline-12345", include_str!("../flows/hotline-12345.json")),
        (
            "multi-dept-approval",
            include_str!("../flows/multi-dept-approval.json"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_definitions_are_valid() {
        for (name, json) in shipped() {
            let d = FlowDefinition::parse(json).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(d.key, name);
        }
    }

    #[test]
    fn pgr_expresses_digits_flow() {
        let d = FlowDefinition::parse(shipped()[0].1).unwrap();
        assert_eq!(d.start_state().key, "NEW");
        let step = |state: &str, action: &str| {
            d.actions_from(state)
                .find(|a| a.key == action)
                .map(|a| a.to.clone())
        };
        assert_eq!(
            step("NEW", "APPLY").as_deref(),
            Some("PENDINGFORASSIGNMENT")
        );
        assert_eq!(
            step("PENDINGFORASSIGNMENT", "ASSIGN").as_deref(),
            Some("PENDINGATLME")
        );
        assert_eq!(
            step("PENDINGFORASSIGNMENT", "REJECT").as_deref(),
            Some("REJECTED")
        );
        assert_eq!(
            step("PENDINGATLME", "REASSIGN").as_deref(),
            Some("PENDINGFORREASSIGNMENT")
        );
        assert_eq!(
            step("PENDINGFORREASSIGNMENT", "ASSIGN").as_deref(),
            Some("PENDINGATLME")
        );
        assert_eq!(step("PENDINGATLME", "RESOLVE").as_deref(), Some("RESOLVED"));
        assert_eq!(
            step("RESOLVED", "REOPEN").as_deref(),
            Some("PENDINGFORASSIGNMENT")
        );
        assert_eq!(
            step("RESOLVED", "RATE").as_deref(),
            Some("CLOSEDAFTERRESOLUTION")
        );
        assert_eq!(
            step("REJECTED", "RATE").as_deref(),
            Some("CLOSEDAFTERREJECTION")
        );
        assert!(d.state("CLOSEDAFTERRESOLUTION").unwrap().terminal);
    }

    #[test]
    fn every_problem_is_listed() {
        let bad = r#"{"key":"bad","name":"Bad","module":"test","roles":["CLERK"],
          "states":[{"key":"A"},{"key":"B","terminal":true},{"key":"ORPHAN","terminal":true},{"key":"STUCK"}],
          "actions":[{"key":"GO","from":["A"],"to":"B","roles":["CLERCK"]},
                     {"key":"JUMP","from":["A"],"to":"NOWHERE","roles":["CLERK"]},
                     {"key":"OUT","from":["B"],"to":"A","roles":["CLERK"]}]}"#;
        let p = FlowDefinition::parse(bad).unwrap_err();
        let all = p.join("\n");
        assert!(all.contains("no start state"), "{all}");
        assert!(all.contains("undeclared role \"CLERCK\""), "{all}");
        assert!(all.contains("undefined state \"NOWHERE\""), "{all}");
        assert!(all.contains("starts from terminal state \"B\""), "{all}");
        let fixed_start = bad.replace(r#"{"key":"A"}"#, r#"{"key":"A","start":true}"#);
        let p = FlowDefinition::parse(&fixed_start).unwrap_err().join("\n");
        assert!(p.contains("\"ORPHAN\" is unreachable"), "{p}");
        assert!(
            p.contains("\"STUCK\" is not terminal but no action leaves it"),
            "{p}"
        );
        assert!(FlowDefinition::parse("{").unwrap_err()[0].contains("not a valid"));
    }

    #[test]
    fn problems_carry_codes_and_what_they_name() {
        let json = r#"{"key":"bad","name":"Bad","module":"test","roles":["CLERK"],
          "states":[{"key":"A","start":true},{"key":"B","terminal":true},
                    {"key":"ORPHAN","sla":{"due":{"working_days":0}}}],
          "actions":[{"key":"GO","from":["A"],"to":"B","roles":["CLERCK"]},
                     {"key":"JUMP","from":["A"],"to":"NOWHERE","roles":["CLERK"]}]}"#;
        let problems = FlowDefinition::check(json).unwrap_err();
        /// (code, state, action, role)
        type Named<'a> = (
            ProblemCode,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let named: Vec<Named> = problems
            .iter()
            .map(|p| {
                (
                    p.code,
                    p.state.as_deref(),
                    p.action.as_deref(),
                    p.role.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            named,
            vec![
                (ProblemCode::SpanOutOfRange, Some("ORPHAN"), None, None),
                (
                    ProblemCode::UndeclaredRole,
                    None,
                    Some("GO"),
                    Some("CLERCK")
                ),
                (
                    ProblemCode::ToUndefinedState,
                    Some("NOWHERE"),
                    Some("JUMP"),
                    None
                ),
                (ProblemCode::DeadEnd, Some("ORPHAN"), None, None),
                (ProblemCode::UnreachableState, Some("ORPHAN"), None, None),
            ]
        );
        assert_eq!(problems[0].field.as_deref(), Some("sla.due"));
        assert_eq!(
            problems[0].message,
            "state \"ORPHAN\": sla.due must be positive and at most ten years"
        );
        // The sentences are the same as `parse` gives, in the same order.
        let sentences: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(FlowDefinition::parse(json).unwrap_err(), sentences);
        // Serialized, absent names are left out and the code is snake_case.
        assert_eq!(
            serde_json::to_value(&problems[3]).unwrap(),
            serde_json::json!({"code": "dead_end", "state": "ORPHAN",
                "message": "state \"ORPHAN\" is not terminal but no action leaves it"})
        );
        let several = json.replace(
            r#"{"key":"B","terminal":true}"#,
            r#"{"key":"B","start":true}"#,
        );
        let problems = FlowDefinition::check(&several).unwrap_err();
        let start = problems
            .iter()
            .find(|p| p.code == ProblemCode::SeveralStartStates)
            .unwrap();
        assert_eq!(start.states, vec!["A", "B"]);
        let syntax = FlowDefinition::check(r#"{"key":"x","colour":"red"}"#).unwrap_err();
        assert_eq!(syntax.len(), 1);
        assert_eq!(syntax[0].code, ProblemCode::NotADefinition);
        assert!(syntax[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("unknown field `colour`"));
    }
}
