//! `POST /temporal/entityOperations/query` (GS CIM 009 §5.7.4, §6.24): a temporal query
//! given as a `Query` body (§5.2.23) whose `temporalQ` (§5.2.21) and `aggrParams`
//! (§5.2.44) carry what the GET form takes as parameters.

use super::NgsiRequest;
use super::{Params, TwinState};
use crate::ld::error::{NgsiError, NgsiResult};
use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value};

/// POST /temporal/entityOperations/query (§6.24.3.1): answers as GET /temporal/entities
/// with the same selection; `options`, `limit`, `offset` and `count` stay in the query
/// string. `aggrMethods` (in `temporalQ` or `aggrParams`) asks for the aggregated
/// representation. Errors: 400 BadRequestData for a body that is not a `Query` or a
/// `temporalQ` outside its value space.
pub async fn post_temporal_query(
    State(st): State<TwinState>,
    mut r: NgsiRequest,
    b: super::RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let m = crate::query::body::query_object(&body.value)?;
    let mut p = std::mem::take(&mut r.params);
    crate::query::body::merge_members(m, &mut p)?;
    for member in ["temporalQ", "aggrParams"] {
        match m.get(member) {
            None | Some(Value::Null) => {}
            Some(Value::Object(tq)) => temporal_members(tq, &mut p)?,
            Some(_) => {
                return Err(NgsiError::bad_data(format!("{member} must be an object")));
            }
        }
    }
    crate::http::temporal::run_temporal_query(&st, &r, &p, &ctx).await
}

/// Copies the members of a `TemporalQuery` or `aggrParams` object into parameters,
/// checking the JSON types the GET form cannot express: `lastN` a positive integer,
/// strings where strings are due, `aggrMethods` a string array or a comma-separated
/// string. Value spaces are checked later, as for the GET form.
fn temporal_members(tq: &Map<String, Value>, p: &mut Params) -> NgsiResult<()> {
    for (k, v) in tq {
        let s = match (k.as_str(), v) {
            ("lastN", Value::Number(n)) => match n.as_u64().filter(|n| *n > 0) {
                Some(n) => n.to_string(),
                None => {
                    return Err(NgsiError::bad_data(format!(
                        "lastN {n} is not a positive integer"
                    )))
                }
            },
            ("aggrMethods", Value::Array(a)) => {
                let l: Option<Vec<&str>> = a.iter().map(Value::as_str).collect();
                l.ok_or_else(|| NgsiError::bad_data("aggrMethods must hold strings"))?
                    .join(",")
            }
            (
                "timerel" | "timeAt" | "endTimeAt" | "timeproperty" | "aggrMethods"
                | "aggrPeriodDuration",
                Value::String(s),
            ) => s.clone(),
            _ => {
                return Err(NgsiError::bad_data(format!(
                    "{k}: not a member of a temporal query, or not of its type"
                )))
            }
        };
        if k == "aggrMethods" {
            let mut opts = p.list("options");
            if !opts.iter().any(|o| o == "aggregatedValues") {
                opts.push("aggregatedValues".into());
            }
            p.0.insert("options".into(), opts.join(","));
        }
        p.0.insert(k.clone(), s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn members(v: Value) -> NgsiResult<Params> {
        let mut p = Params::parse(None);
        temporal_members(v.as_object().unwrap(), &mut p)?;
        Ok(p)
    }

    #[test]
    fn temporal_q_members_become_parameters() {
        let p = members(json!({"timerel": "after", "timeAt": "2020-08-01T12:00:00Z", "lastN": 2}))
            .unwrap();
        assert_eq!(p.get("timerel"), Some("after"));
        assert_eq!(p.get("lastN"), Some("2"));
        let p = members(json!({"aggrMethods": ["avg", "max"]})).unwrap();
        assert_eq!(p.get("aggrMethods"), Some("avg,max"));
        assert_eq!(p.get("options"), Some("aggregatedValues"));
        for bad in [
            json!({"lastN": 0}),
            json!({"lastN": 2.5}),
            json!({"lastN": "3"}),
            json!({"timeAt": 5}),
            json!({"aggrMethods": [1]}),
        ] {
            assert!(members(bad.clone()).is_err(), "{bad} accepted");
        }
    }
}
