//! JSON merge patch (RFC 7396): how `PATCH` changes a stored definition.

use serde_json::{Map, Value};

/// Applies a JSON merge patch (RFC 7396) to a body: `PATCH` semantics. A `null`
/// removes a key (so `"options": null` restores the default options).
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(slot) = slot {
                    merge_patch(slot, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadSpec;
    use serde_json::json;
    use tally_engine::CountOptions;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn valid() -> Value {
        json!({
            "workload_type": "wordcount",
            "name": "  Shakespeare  ",
            "src_project": "p", "src_dataset": "d", "src_table": "t", "src_column_name": "c",
        })
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let spec = WorkloadSpec::from_body(&body(valid())).expect("valid");
        let mut merged = spec.to_body();
        merge_patch(
            &mut merged,
            &body(json!({"name": "New", "options": {"min_length": 3}})),
        );
        let patched = WorkloadSpec::from_body(&merged).expect("still valid");
        assert_eq!(patched.name, "New");
        assert_eq!(patched.options.min_length, 3);
        assert_eq!(patched.src_table, "t");
        merge_patch(&mut merged, &body(json!({"options": null})));
        assert_eq!(
            WorkloadSpec::from_body(&merged).expect("valid").options,
            CountOptions::default()
        );
    }
}
