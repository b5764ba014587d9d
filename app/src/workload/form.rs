//! The UI's workload form ([`WorkloadForm`]) and a failed post of it ([`PostedForm`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tally_engine::{CountOptions, Stopwords};

use super::{Workload, WorkloadType};

/// The UI's workload form: every input as the text the browser sends, so that a
/// plain `<form>` post (no JavaScript) and the hydrated form call the same server
/// function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadForm {
    pub workload_type: String,
    pub name: String,
    pub src_project: String,
    pub src_dataset: String,
    pub src_table: String,
    pub src_column_name: String,
    pub tokenizer: String,
    pub case: String,
    pub min_length: String,
    /// `none`, `english` or `custom`.
    pub stopwords: String,
    /// The custom list, one word per line (or separated by commas).
    pub custom_stopwords: String,
    /// `native` or `spark`; blank means native (the form shows no choice
    /// when the server has no Spark).
    pub executor: String,
    /// Words per n-gram; sent only for an `ngram` workload.
    pub n: String,
    /// The row filter in its text form, one condition a line
    /// (see [`crate::workload::RowFilter`]); blank counts every row.
    pub filter: String,
    /// The column to count per group of; blank counts the rows together.
    pub group_by: String,
}

impl WorkloadForm {
    /// The form as a plain GET of itself sent it (`form[name]=...`): the
    /// stepwise source choice without JavaScript. `None` when the query holds
    /// no field of the form.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let mut form = Self::default();
        let mut found = false;
        for (key, field) in [
            ("form[workload_type]", &mut form.workload_type),
            ("form[name]", &mut form.name),
            ("form[src_project]", &mut form.src_project),
            ("form[src_dataset]", &mut form.src_dataset),
            ("form[src_table]", &mut form.src_table),
            ("form[src_column_name]", &mut form.src_column_name),
            ("form[tokenizer]", &mut form.tokenizer),
            ("form[case]", &mut form.case),
            ("form[min_length]", &mut form.min_length),
            ("form[stopwords]", &mut form.stopwords),
            ("form[custom_stopwords]", &mut form.custom_stopwords),
            ("form[executor]", &mut form.executor),
            ("form[n]", &mut form.n),
            ("form[filter]", &mut form.filter),
            ("form[group_by]", &mut form.group_by),
        ] {
            if let Some(value) = get(key) {
                *field = value;
                found = true;
            }
        }
        found.then_some(form)
    }

    /// A new workload's form: the default type and options, no source yet.
    pub fn new_workload() -> Self {
        Self {
            workload_type: WorkloadType::Wordcount.as_str().into(),
            ..Self::default()
        }
        .with_options(&CountOptions::default())
    }

    /// A form holding a stored workload's definition, for editing.
    pub fn from_workload(w: &Workload) -> Self {
        Self {
            workload_type: w.workload_type.as_str().into(),
            name: w.name.clone(),
            src_project: w.src_project.clone(),
            src_dataset: w.src_dataset.clone(),
            src_table: w.src_table.clone(),
            src_column_name: w.src_column_name.clone(),
            executor: w.executor.as_str().into(),
            filter: w.filter.to_text(),
            group_by: w.group_by.clone().unwrap_or_default(),
            ..Self::default()
        }
        .with_options(&w.options)
    }

    fn with_options(mut self, options: &CountOptions) -> Self {
        self.tokenizer = options.tokenizer.as_str().into();
        self.case = options.case.as_str().into();
        self.min_length = options.min_length.to_string();
        let (stopwords, custom) = match &options.stopwords {
            Stopwords::None => ("none", String::new()),
            Stopwords::English => ("english", String::new()),
            Stopwords::Custom(words) => ("custom", words.join("\n")),
        };
        self.stopwords = stopwords.into();
        self.custom_stopwords = custom;
        // Bigrams unless the workload says otherwise: what a new n-gram
        // workload most often wants.
        self.n = options.n.unwrap_or(2).to_string();
        self
    }

    /// The form as a REST request body, for [`WorkloadSpec::from_body`]. Blank
    /// option inputs mean the default; a `min_length` that is not a number is
    /// passed on as text so that validation reports it.
    pub fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        let fields = [
            ("workload_type", &self.workload_type),
            ("name", &self.name),
            ("src_project", &self.src_project),
            ("src_dataset", &self.src_dataset),
            ("src_table", &self.src_table),
            ("src_column_name", &self.src_column_name),
        ];
        for (key, value) in fields {
            body.insert(key.into(), value.clone().into());
        }
        let mut options = Map::new();
        for (key, value) in [("tokenizer", &self.tokenizer), ("case", &self.case)] {
            if !value.trim().is_empty() {
                options.insert(key.into(), value.trim().into());
            }
        }
        let min_length = self.min_length.trim();
        if !min_length.is_empty() {
            let value = min_length
                .parse::<u64>()
                .map_or_else(|_| Value::from(min_length), Value::from);
            options.insert("min_length".into(), value);
        }
        match self.stopwords.trim() {
            "" => {}
            "custom" => {
                let words: Vec<Value> = self
                    .custom_stopwords
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(Value::from)
                    .collect();
                let mut custom = Map::new();
                custom.insert("custom".into(), Value::Array(words));
                options.insert("stopwords".into(), Value::Object(custom));
            }
            other => {
                options.insert("stopwords".into(), other.into());
            }
        }
        let n = self.n.trim();
        if self.workload_type.trim() == WorkloadType::Ngram.as_str() && !n.is_empty() {
            let value = n
                .parse::<u64>()
                .map_or_else(|_| Value::from(n), Value::from);
            options.insert("n".into(), value);
        }
        body.insert("options".into(), Value::Object(options));
        if !self.executor.trim().is_empty() {
            body.insert("executor".into(), self.executor.trim().into());
        }
        if !self.filter.trim().is_empty() {
            body.insert("filter".into(), self.filter.clone().into());
        }
        if !self.group_by.trim().is_empty() {
            body.insert("group_by".into(), self.group_by.trim().into());
        }
        body
    }
}

/// A workload form that failed, sent back to the form's page when it was posted
/// without JavaScript, so that the page shows each message next to its field and
/// keeps what was typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostedForm {
    pub form: WorkloadForm,
    pub error: crate::error::AppError,
}

impl PostedForm {
    /// The longest encoding sent back in a URL (a long custom stopword list is not).
    const MAX_CHARS: usize = 4_000;

    /// The form as a query value, when it is short enough for a URL.
    pub fn encode(&self) -> Option<String> {
        serde_json::to_string(self)
            .ok()
            .filter(|json| json.len() <= Self::MAX_CHARS)
    }

    pub fn decode(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Executor, RowFilter, WorkloadSpec, WorkloadStatus};
    use tally_engine::{CaseMode, TokenizerKind};

    fn sample_workload(options: CountOptions) -> Workload {
        Workload {
            id: 1,
            workload_type: WorkloadType::Wordcount,
            name: "Plays".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            options,
            executor: Executor::Native,
            filter: RowFilter::default(),
            group_by: None,
            status: WorkloadStatus::Succeeded,
            created_at: String::new(),
            updated_at: String::new(),
            last_run: None,
        }
    }

    #[test]
    fn the_form_sends_n_for_an_ngram_workload_only_and_round_trips_it() {
        let mut form = WorkloadForm::from_workload(&Workload {
            workload_type: WorkloadType::Ngram,
            ..sample_workload(CountOptions {
                n: Some(3),
                ..CountOptions::default()
            })
        });
        assert_eq!(form.n, "3");
        let spec = WorkloadSpec::from_body(&form.to_body()).expect("valid form");
        assert_eq!(spec.options.n, Some(3));
        form.workload_type = "wordcount".into();
        assert!(
            !form.to_body()["options"]
                .as_object()
                .expect("options")
                .contains_key("n")
        );
    }

    #[test]
    fn a_stored_filter_fills_the_form_as_text_and_validates_back_to_itself() {
        let filter: RowFilter = serde_json::from_value(serde_json::json!({
            "corpus": {"in": ["hamlet", "king lear"]},
            "year": {"gte": 1600},
        }))
        .expect("a filter");
        let workload = Workload {
            filter: filter.clone(),
            ..sample_workload(CountOptions::default())
        };
        let form = WorkloadForm::from_workload(&workload);
        assert_eq!(form.filter, "corpus in hamlet, king lear\nyear >= 1600\n");
        let spec = WorkloadSpec::from_body(&form.to_body()).expect("valid");
        // The text form carries no types: the server's schema check puts
        // 1600 back as a number.
        assert_eq!(spec.filter.to_text(), filter.to_text());
        let blank = WorkloadForm {
            filter: " \n ".into(),
            ..form
        };
        assert!(!blank.to_body().contains_key("filter"));
    }

    #[test]
    fn the_form_goes_through_the_same_validation() {
        let form = WorkloadForm {
            workload_type: "wordcount".into(),
            name: "n".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            min_length: "three".into(),
            stopwords: "custom".into(),
            custom_stopwords: "a\nb, c\n\n".into(),
            ..Default::default()
        };
        let e = WorkloadSpec::from_body(&form.to_body()).expect_err("bad min_length");
        assert_eq!(e[0].field(), "min_length");
        let form = WorkloadForm {
            min_length: " 2 ".into(),
            ..form
        };
        let spec = WorkloadSpec::from_body(&form.to_body()).expect("valid");
        assert_eq!(
            spec.options.stopwords,
            Stopwords::Custom(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(spec.options.min_length, 2);
    }

    #[test]
    fn a_stored_definition_fills_the_form_and_validates_back_to_itself() {
        let options = CountOptions {
            tokenizer: TokenizerKind::Words,
            case: CaseMode::Preserve,
            min_length: 3,
            stopwords: Stopwords::Custom(vec!["the".into(), "a".into()]),
            n: None,
        };
        let workload = Workload {
            id: 4,
            status: WorkloadStatus::Created,
            ..sample_workload(options.clone())
        };
        let spec = WorkloadSpec::from_body(&WorkloadForm::from_workload(&workload).to_body())
            .expect("valid");
        assert_eq!(spec.options, options);
        assert_eq!(spec.source_table(), "p.d.t");
        let fresh = WorkloadForm::new_workload();
        assert_eq!(fresh.workload_type, "wordcount");
        assert_eq!(fresh.min_length, "0");
    }

    #[test]
    fn a_posted_form_round_trips_unless_too_long_for_a_url() {
        let mut form = WorkloadForm::new_workload();
        form.name = "Plays".into();
        let posted = PostedForm {
            form: form.clone(),
            error: crate::error::AppError::new(422, "name: too short"),
        };
        let encoded = posted.encode().expect("short enough");
        assert_eq!(PostedForm::decode(&encoded), Some(posted));
        form.custom_stopwords = "word\n".repeat(2_000);
        let long = PostedForm {
            form,
            error: crate::error::AppError::new(422, "x"),
        };
        assert_eq!(long.encode(), None);
        assert_eq!(PostedForm::decode("not json"), None);
    }
}
