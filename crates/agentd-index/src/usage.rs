//! Token usage and cost reports.
//!
//! Usage rows are deduplicated at index time (one per API response, see
//! `indexer::usage_key`). Reports group them in SQL into 15-minute UTC
//! buckets per model — every time zone's offset is a multiple of 15
//! minutes — and map the buckets to local days or months here, so any time
//! zone costs one small query.

use std::collections::{BTreeMap, BTreeSet};

use agentd_transcript::{Usage, pricing};

use crate::{IndexError, Reader};
pub use agentd_proto::history::{GroupBy, UsageQuery, UsageReport, UsageRow};

const BUCKET_MS: i64 = 15 * 60 * 1000;

/// Adds one usage record of `model` to `row` (at the long-context price
/// when `long`); an unpriced model is named in `unpriced_models`.
fn add(row: &mut UsageRow, model: &str, u: &Usage, long: bool, price: Option<pricing::Price>) {
    row.input_tokens += u.input_tokens;
    row.output_tokens += u.output_tokens;
    row.cache_creation_tokens += u.cache_creation_input_tokens;
    row.cache_read_tokens += u.cache_read_input_tokens;
    row.total_tokens += u.total();
    if model.is_empty() || model == "<synthetic>" {
        return;
    }
    if !row.models.iter().any(|m| m == model) {
        row.models.push(model.to_owned());
    }
    match price {
        Some(p) => {
            row.cost_usd = Some(row.cost_usd.unwrap_or(0.0) + pricing::cost_at(&p, u, long));
        }
        None if u.total() > 0 && !row.unpriced_models.iter().any(|m| m == model) => {
            row.unpriced_models.push(model.to_owned());
        }
        None => {}
    }
}

/// Builds a report. `overrides` are prices from `agentd.toml`.
///
/// # Errors
/// [`IndexError::Invalid`] for an unknown time zone or a bad date; SQLite
/// errors.
pub fn report(
    reader: &Reader,
    q: &UsageQuery,
    overrides: &[(String, pricing::Price)],
) -> Result<UsageReport, IndexError> {
    let tz = match q.timezone.as_deref() {
        Some(name) => jiff::tz::TimeZone::get(name).map_err(|e| {
            IndexError::Invalid(format!(
                "unknown time zone {name:?} ({e}); use an IANA name such as UTC or Europe/Berlin"
            ))
        })?,
        None => jiff::tz::TimeZone::system(),
    };
    let tz_name = tz.iana_name().unwrap_or("local").to_owned();
    let day_start = |d: &str, next: bool| -> Result<i64, IndexError> {
        let date: jiff::civil::Date = d
            .parse()
            .map_err(|e| IndexError::Invalid(format!("bad date {d:?} ({e}); use YYYY-MM-DD")))?;
        let date = if next {
            date.tomorrow()
                .map_err(|e| IndexError::Invalid(e.to_string()))?
        } else {
            date
        };
        date.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| IndexError::Invalid(e.to_string()))
    };
    let since = q
        .since
        .as_deref()
        .map(|d| day_start(d, false))
        .transpose()?;
    let until = q.until.as_deref().map(|d| day_start(d, true)).transpose()?;
    let key_sql = match q.group_by {
        GroupBy::Daily | GroupBy::Monthly => "CAST(u.ts_ms / 900000 AS TEXT)",
        GroupBy::Session => "u.session_id",
        GroupBy::Project => "COALESCE(s.cwd, s.project, '')",
        GroupBy::Model => "''",
        GroupBy::Agent => "COALESCE(f.agent, 'claude')",
    };
    let sql = format!(
        "SELECT {key_sql} AS k, u.model,
                (u.input + u.cache_write + u.cache_read > {short}) + (u.input + u.cache_write + u.cache_read > {long}) AS class,
                SUM(u.input), SUM(u.output), SUM(u.cache_write), SUM(u.cache_write_1h), SUM(u.cache_read)
         FROM usage u LEFT JOIN sessions s ON s.id = u.session_id
              LEFT JOIN files f ON f.id = u.file_id
         WHERE (?1 IS NULL OR u.ts_ms >= ?1) AND (?2 IS NULL OR u.ts_ms < ?2)
           AND (?3 IS NULL OR u.session_id = ?3)
         GROUP BY k, u.model, class",
        short = pricing::SHORT_LONG_CONTEXT_TOKENS,
        long = pricing::LONG_CONTEXT_TOKENS
    );
    let mut stmt = reader.conn().prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params![since, until, q.session_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            Usage {
                input_tokens: r.get::<_, i64>(3)? as u64,
                output_tokens: r.get::<_, i64>(4)? as u64,
                cache_creation_input_tokens: r.get::<_, i64>(5)? as u64,
                cache_creation_1h_tokens: r.get::<_, i64>(6)? as u64,
                cache_read_input_tokens: r.get::<_, i64>(7)? as u64,
            },
        ))
    })?;
    let mut groups: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut totals = UsageRow {
        period: "total".to_owned(),
        ..UsageRow::default()
    };
    for row in rows {
        let (key, model, class, usage) = row?;
        let period = match q.group_by {
            GroupBy::Daily | GroupBy::Monthly => {
                let bucket: i64 = key.parse().unwrap_or(0);
                let date = jiff::Timestamp::from_millisecond(bucket * BUCKET_MS)
                    .map(|t| t.to_zoned(tz.clone()).date())
                    .map_err(|e| IndexError::Invalid(e.to_string()))?;
                if q.group_by == GroupBy::Daily {
                    date.to_string()
                } else {
                    format!("{:04}-{:02}", date.year(), date.month())
                }
            }
            GroupBy::Model => model.clone(),
            _ => key,
        };
        let price = pricing::lookup(&model, overrides);
        // Prompt size class 0 (≤ 100 000 tokens), 1 (≤ 200 000), 2 (more):
        // long as the model's own threshold says.
        let long = price.is_some_and(|p| {
            let prompt = match class {
                0 => 0,
                1 => pricing::SHORT_LONG_CONTEXT_TOKENS + 1,
                _ => pricing::LONG_CONTEXT_TOKENS + 1,
            };
            pricing::is_long_at(&p, prompt)
        });
        let g = groups.entry(period.clone()).or_insert_with(|| UsageRow {
            period,
            ..UsageRow::default()
        });
        add(g, &model, &usage, long, price);
        add(&mut totals, &model, &usage, long, price);
    }
    let mut rows: Vec<UsageRow> = groups.into_values().collect();
    for r in rows.iter_mut().chain(std::iter::once(&mut totals)) {
        r.models.sort();
        r.unpriced_models.sort();
        let set: BTreeSet<String> = r.models.drain(..).collect();
        r.models = set.into_iter().collect();
    }
    if !matches!(q.group_by, GroupBy::Daily | GroupBy::Monthly) {
        rows.sort_by(|a, b| {
            b.total_tokens
                .cmp(&a.total_tokens)
                .then(a.period.cmp(&b.period))
        });
    }
    Ok(UsageReport {
        rows,
        totals,
        timezone: tz_name,
    })
}
