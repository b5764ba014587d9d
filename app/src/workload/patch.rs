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
    use serde_json::json;

    fn object(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let mut target = object(json!({
            "name": "Old", "src_table": "t",
            "options": {"min_length": 1, "case": "lower"},
            "filter": {"year": {"gte": 1600}, "corpus": {"eq": "hamlet"}},
        }));
        merge_patch(
            &mut target,
            &object(json!({
                "name": "New",
                "options": {"min_length": 3},
                "filter": {"corpus": null, "year": {"lt": 1610}},
                "executor": "native",
            })),
        );
        assert_eq!(
            Value::Object(target.clone()),
            json!({
                "name": "New", "src_table": "t", "executor": "native",
                "options": {"min_length": 3, "case": "lower"},
                "filter": {"year": {"gte": 1600, "lt": 1610}},
            })
        );
        // `null` removes a key; an object replaces a value that was not one.
        merge_patch(
            &mut target,
            &object(json!({"options": null, "name": {"x": 1}})),
        );
        assert!(!target.contains_key("options"));
        assert_eq!(target["name"], json!({"x": 1}));
    }
}
