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

impl FlowDefinition {
    /// Parses and validates a JSON definition.
    ///
    /// Errors: every problem found (syntax, unknown fields, no or several start states,
    /// actions from or to undefined states, undeclared roles, unreachable states, dead
    /// ends, escalations naming actions that cannot be taken, non-positive spans).
    pub fn parse(json: &str) -> Result<FlowDefinition, Vec<String>> {
        let def: FlowDefinition = serde_json::from_str(json)
            .map_err(|e| vec![format!("not a valid flow definition: {e}")])?;
        let problems = def.problems();
        if problems.is_empty() {
            Ok(def)
        } else {
            Err(problems)
        }
    }

    /// Every problem of the definition (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !key_ok(&self.key) {
            p.push(format!(
                "key {:?} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'",
                self.key
            ));
        }
        if self.name.trim().is_empty() {
            p.push("name must not be empty".into());
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
                p.push(format!("state key {:?} is not a valid key", s.key));
            }
            if states.insert(s.key.as_str(), s).is_some() {
                p.push(format!("state {:?} is defined twice", s.key));
            }
            if s.start && s.terminal {
                p.push(format!("state {:?} is both start and terminal", s.key));
            }
            if let Some(sla) = &s.sla {
                check_sla(&mut p, &format!("state {:?}", s.key), sla);
            }
        }
        let starts: Vec<&str> = self
            .states
            .iter()
            .filter(|s| s.start)
            .map(|s| s.key.as_str())
            .collect();
        match starts.len() {
            0 => p.push("no start state: mark exactly one state with \"start\": true".into()),
            1 => {}
            _ => p.push(format!("several start states: {}", starts.join(", "))),
        }
        let mut seen = HashSet::new();
        for a in &self.actions {
            if !key_ok(&a.key) {
                p.push(format!("action key {:?} is not a valid key", a.key));
            }
            if a.from.is_empty() {
                p.push(format!("action {:?} has no from states", a.key));
            }
            for f in &a.from {
                if !states.contains_key(f.as_str()) {
                    p.push(format!(
                        "action {:?} starts from undefined state {f:?}",
                        a.key
                    ));
                } else if states[f.as_str()].terminal && !a.reopen {
                    p.push(format!(
                        "action {:?} starts from terminal state {f:?} (only reopen actions may)",
                        a.key
                    ));
                }
                if !seen.insert((a.key.as_str(), f.as_str())) {
                    p.push(format!(
                        "action {:?} is defined twice for state {f:?}",
                        a.key
                    ));
                }
            }
            if !states.contains_key(a.to.as_str()) {
                p.push(format!(
                    "action {:?} leads to undefined state {:?}",
                    a.key, a.to
                ));
            }
            if a.roles.is_empty() {
                p.push(format!("action {:?} allows no roles", a.key));
            }
            for r in &a.roles {
                if !roles.contains(r.as_str()) {
                    p.push(format!(
                        "action {:?} names undeclared role {r:?} (declared: {})",
                        a.key,
                        self.roles.join(", ")
                    ));
                }
            }
            if a.reopen && self.reopen_window.is_none() {
                p.push(format!(
                    "action {:?} is a reopen action but the flow has no reopen_window",
                    a.key
                ));
            }
        }
        if let Some(sla) = &self.sla {
            check_sla(&mut p, "the flow", sla);
        }
        if let Some(w) = &self.reopen_window {
            if !w.positive() {
                p.push("reopen_window must be positive and at most ten years".into());
            }
        }
        // Escalations.
        for s in &self.states {
            for (i, e) in s.escalations.iter().enumerate() {
                if !e.after.positive() {
                    p.push(format!(
                        "state {:?} escalation {i}: after must be positive and at most ten years",
                        s.key
                    ));
                }
                match &e.then {
                    EscalationStep::Notify { roles: rs } => {
                        for r in rs {
                            if !roles.contains(r.as_str()) {
                                p.push(format!(
                                    "state {:?} escalation {i} notifies undeclared role {r:?}",
                                    s.key
                                ));
                            }
                        }
                    }
                    EscalationStep::Reassign { role } => {
                        if !self.roles.contains(role) {
                            p.push(format!(
                                "state {:?} escalation {i} reassigns to undeclared role {role:?}",
                                s.key
                            ));
                        }
                    }
                    EscalationStep::Action { action } => {
                        let ok = self.actions.iter().any(|a| {
                            &a.key == action
                                && a.from.contains(&s.key)
                                && a.roles.iter().any(|r| r == "SYSTEM")
                        });
                        if !ok {
                            p.push(format!("state {:?} escalation {i} takes action {action:?}, which SYSTEM cannot take in that state", s.key));
                        }
                    }
                }
            }
        }
        // Dead ends and closure.
        for s in &self.states {
            let leaves = self.actions.iter().any(|a| a.from.contains(&s.key));
            if !s.terminal && !leaves {
                p.push(format!(
                    "state {:?} is not terminal but no action leaves it",
                    s.key
                ));
            }
        }
        if !self.states.iter().any(|s| s.terminal) {
            p.push("no terminal state: a case could never close".into());
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
                    p.push(format!(
                        "state {:?} is unreachable from the start state {start:?}",
                        s.key
                    ));
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

fn check_sla(p: &mut Vec<String>, what: &str, sla: &Sla) {
    if !sla.due.positive() {
        p.push(format!(
            "{what}: sla.due must be positive and at most ten years"
        ));
    }
    if let Some(w) = &sla.warn_before {
        if !w.positive() {
            p.push(format!(
                "{what}: sla.warn_before must be positive and at most ten years"
            ));
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
}
