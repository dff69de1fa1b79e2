//! Usage at HQ: every runner's token usage and cost, asked of each linked
//! runner at once (its transcripts stay on its machine; the runner's own
//! index computes the report) and added up by period.

use std::collections::BTreeSet;

use agentd_proto::history::{UsageQuery, UsageReport, UsageRow};
use agentd_proto::hq::{HqUsage, RunnerUsage};

use crate::fleet::Request;
use crate::service::{Caller, HqError, HqService};
use crate::token::Role;

impl HqService {
    /// Every runner's usage for `query`, merged (role `viewer`). A runner
    /// that is offline or fails is listed with why, and left out of the
    /// rows and totals.
    ///
    /// # Errors
    /// [`HqError::Forbidden`]; the store.
    pub async fn usage(&self, caller: &Caller, query: UsageQuery) -> Result<HqUsage, HqError> {
        HqService::require(caller, Role::Viewer)?;
        let runners = self.runners().await?;
        let asks = runners.iter().map(|r| {
            let query = query.clone();
            async move {
                let name = r.name.clone();
                let answer = self
                    .ask_runner(
                        &name,
                        Request::Usage(query),
                        format!("runner {name} is offline"),
                    )
                    .await
                    .and_then(|v| {
                        serde_json::from_value::<UsageReport>(v).map_err(|e| {
                            HqError::Store(format!("runner {name} answered oddly: {e}"))
                        })
                    });
                (name, answer)
            }
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut reports = Vec::new();
        let mut parts = Vec::new();
        for (runner, answer) in answers {
            match answer {
                Ok(report) => {
                    parts.push(RunnerUsage {
                        runner,
                        totals: Some(report.totals.clone()),
                        error: None,
                    });
                    reports.push(report);
                }
                Err(e) => parts.push(RunnerUsage {
                    runner,
                    totals: None,
                    error: Some(e.to_string()),
                }),
            }
        }
        let mut merged = merge(&reports, query.group_by);
        merged.runners = parts;
        Ok(merged)
    }
}

/// Adds `b` into `a` (token counts; costs where either has one; model
/// lists united).
pub fn add(a: &mut UsageRow, b: &UsageRow) {
    a.input_tokens += b.input_tokens;
    a.output_tokens += b.output_tokens;
    a.cache_creation_tokens += b.cache_creation_tokens;
    a.cache_read_tokens += b.cache_read_tokens;
    a.total_tokens += b.total_tokens;
    a.cost_usd = match (a.cost_usd, b.cost_usd) {
        (None, None) => None,
        (x, y) => Some(x.unwrap_or(0.0) + y.unwrap_or(0.0)),
    };
    let union = |x: &[String], y: &[String]| -> Vec<String> {
        x.iter()
            .chain(y)
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    a.models = union(&a.models, &b.models);
    a.unpriced_models = union(&a.unpriced_models, &b.unpriced_models);
}

/// The runners' reports added up by period: days and months in order,
/// other groupings most tokens first (as a runner's own report).
pub fn merge(reports: &[UsageReport], group_by: agentd_proto::history::GroupBy) -> HqUsage {
    use agentd_proto::history::GroupBy;
    let mut by_period: std::collections::BTreeMap<String, UsageRow> = Default::default();
    let mut totals = UsageRow {
        period: "total".to_owned(),
        ..Default::default()
    };
    for r in reports {
        for row in &r.rows {
            let into = by_period
                .entry(row.period.clone())
                .or_insert_with(|| UsageRow {
                    period: row.period.clone(),
                    ..Default::default()
                });
            add(into, row);
        }
        add(&mut totals, &r.totals);
    }
    let mut rows: Vec<UsageRow> = by_period.into_values().collect();
    if !matches!(group_by, GroupBy::Daily | GroupBy::Monthly) {
        rows.sort_by(|a, b| {
            b.total_tokens
                .cmp(&a.total_tokens)
                .then_with(|| a.period.cmp(&b.period))
        });
    }
    HqUsage {
        rows,
        totals,
        timezone: reports
            .first()
            .map(|r| r.timezone.clone())
            .unwrap_or_default(),
        runners: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentd_proto::history::GroupBy;

    fn row(period: &str, tokens: u64, cost: Option<f64>, model: &str) -> UsageRow {
        UsageRow {
            period: period.into(),
            input_tokens: tokens,
            total_tokens: tokens,
            cost_usd: cost,
            models: vec![model.into()],
            unpriced_models: if cost.is_none() {
                vec![model.into()]
            } else {
                vec![]
            },
            ..Default::default()
        }
    }

    fn report(rows: Vec<UsageRow>) -> UsageReport {
        let mut totals = UsageRow {
            period: "total".into(),
            ..Default::default()
        };
        for r in &rows {
            add(&mut totals, r);
        }
        UsageReport {
            rows,
            totals,
            timezone: "UTC".into(),
        }
    }

    #[test]
    fn days_of_two_runners_add_up_in_order_and_costs_stay_honest() {
        let a = report(vec![
            row("2026-11-27", 10, Some(0.5), "opus"),
            row("2026-11-28", 20, Some(1.0), "opus"),
        ]);
        let b = report(vec![
            row("2026-11-28", 5, None, "local"),
            row("2026-11-29", 7, Some(0.25), "sonnet"),
        ]);
        let m = merge(&[a, b], GroupBy::Daily);
        let periods: Vec<&str> = m.rows.iter().map(|r| r.period.as_str()).collect();
        assert_eq!(periods, ["2026-11-27", "2026-11-28", "2026-11-29"]);
        let d28 = &m.rows[1];
        assert_eq!(d28.total_tokens, 25);
        assert_eq!(
            d28.cost_usd,
            Some(1.0),
            "the unpriced model adds no made-up cost"
        );
        assert_eq!(d28.models, ["local", "opus"]);
        assert_eq!(d28.unpriced_models, ["local"]);
        assert_eq!(m.totals.total_tokens, 42);
        assert_eq!(m.totals.cost_usd, Some(1.75));
        assert_eq!(m.totals.period, "total");
        // Only unpriced tokens: no cost at all, not 0.
        let only = merge(&[report(vec![row("x", 1, None, "local")])], GroupBy::Model);
        assert_eq!(only.totals.cost_usd, None);
    }

    #[test]
    fn other_groupings_put_most_tokens_first() {
        let a = report(vec![
            row("opus", 10, Some(1.0), "opus"),
            row("sonnet", 3, Some(0.1), "sonnet"),
        ]);
        let b = report(vec![row("sonnet", 30, Some(1.0), "sonnet")]);
        let m = merge(&[a, b], GroupBy::Model);
        assert_eq!(m.rows[0].period, "sonnet");
        assert_eq!(m.rows[0].total_tokens, 33);
        assert!(merge(&[], GroupBy::Daily).rows.is_empty());
    }
}
