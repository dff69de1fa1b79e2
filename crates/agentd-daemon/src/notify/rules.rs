//! One sink's rules (which reasons, which projects, quiet hours, how long a
//! turn must run) and the grouping of a burst into one notice. Pure.

use agentd_client::config::{NotifySink, parse_quiet_hours};
use serde::Serialize;

use super::need::{Need, Reason};

/// A sink's filter, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRules {
    reasons: Vec<String>,
    projects: Vec<String>,
    quiet: Option<(u16, u16)>,
    min_run_ms: i64,
}

impl SinkRules {
    /// The rules of `sink` (validated with the config: a bad quiet-hours
    /// text here means none).
    pub fn of(sink: &NotifySink) -> SinkRules {
        SinkRules {
            reasons: sink.reasons.clone(),
            projects: sink.projects.clone(),
            quiet: sink
                .quiet_hours
                .as_deref()
                .and_then(|q| parse_quiet_hours(q).ok()),
            min_run_ms: i64::try_from(sink.min_run_s.saturating_mul(1000)).unwrap_or(i64::MAX),
        }
    }

    /// Whether `need` goes to this sink at `local_minute` (minutes after
    /// local midnight).
    pub fn wants(&self, need: &Need, local_minute: u16) -> bool {
        if !self.reasons.is_empty() && !self.reasons.iter().any(|r| r == need.reason.as_str()) {
            return false;
        }
        if !self.projects.is_empty()
            && !need
                .project
                .as_deref()
                .is_some_and(|p| self.projects.iter().any(|want| p.contains(want.as_str())))
        {
            return false;
        }
        if need.reason == Reason::TurnFinished && need.run_ms.unwrap_or(0) < self.min_run_ms {
            return false;
        }
        !self.quiet.is_some_and(|q| in_range(local_minute, q))
    }
}

/// Whether `minute` is in `[start, end)`, a range that may wrap midnight;
/// `start == end` is the whole day.
fn in_range(minute: u16, (start, end): (u16, u16)) -> bool {
    if start == end {
        true
    } else if start < end {
        start <= minute && minute < end
    } else {
        minute >= start || minute < end
    }
}

/// What a sink sends: one need, or a burst of them as one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The reason, or `grouped` for a burst of several.
    pub reason: String,
    /// One line.
    pub title: String,
    /// Detail (for a burst: one line per need, the first ten).
    pub body: String,
    /// How many needs this notice carries.
    pub count: usize,
    /// Where to look: the session (one need) or the board.
    pub url: Option<String>,
    /// The needs themselves.
    pub needs: Vec<Need>,
}

impl Notice {
    /// The approval this notice can decide: only a notice of exactly one
    /// approval carries actions.
    pub fn approval_id(&self) -> Option<&str> {
        match self.needs.as_slice() {
            [one] if one.reason == Reason::Approval => one.approval_id.as_deref(),
            _ => None,
        }
    }
}

/// Most needs listed in a grouped notice's body.
const LISTED: usize = 10;

/// One notice for `needs` (not empty), linking to `base_url` when given.
pub fn group(needs: Vec<Need>, base_url: Option<&str>) -> Notice {
    let base = base_url.map(|b| b.trim_end_matches('/').to_owned());
    match needs.as_slice() {
        [one] => Notice {
            reason: one.reason.as_str().to_owned(),
            title: one.title.clone(),
            body: one.body.clone(),
            count: 1,
            // A need about no session (a plugin's) links to the board.
            url: base.map(|b| {
                if one.session_id.is_empty() {
                    format!("{b}/")
                } else {
                    format!("{b}/#/session/{}", one.session_id)
                }
            }),
            needs,
        },
        many => {
            let sessions: std::collections::BTreeSet<&str> =
                many.iter().map(|n| n.session_id.as_str()).collect();
            let mut body: Vec<String> = many.iter().take(LISTED).map(|n| n.title.clone()).collect();
            if many.len() > LISTED {
                body.push(format!("… and {} more", many.len() - LISTED));
            }
            Notice {
                reason: "grouped".to_owned(),
                title: format!(
                    "{} things need you in {} session{}",
                    many.len(),
                    sessions.len(),
                    if sessions.len() == 1 { "" } else { "s" }
                ),
                body: body.join("\n"),
                count: many.len(),
                url: base.map(|b| format!("{b}/")),
                needs,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(reason: Reason, project: &str, run_ms: Option<i64>) -> Need {
        Need {
            reason,
            session_id: "s1".into(),
            agent: "claude".into(),
            project: Some(project.into()),
            title: format!("{project}: x"),
            body: String::new(),
            approval_id: Some("apr_1".into()),
            run_ms,
            ts_ms: 0,
        }
    }

    fn sink(f: impl FnOnce(&mut NotifySink)) -> SinkRules {
        let mut s = NotifySink::default();
        f(&mut s);
        SinkRules::of(&s)
    }

    #[test]
    fn reasons_projects_quiet_hours_and_run_length() {
        let all = sink(|_| {});
        assert!(all.wants(&need(Reason::Approval, "/w/api", None), 600));
        // Default: turns shorter than a minute say nothing.
        assert!(!all.wants(&need(Reason::TurnFinished, "/w/api", Some(59_999)), 600));
        assert!(all.wants(&need(Reason::TurnFinished, "/w/api", Some(60_000)), 600));
        let only = sink(|s| {
            s.reasons = vec!["approval".into()];
            s.projects = vec!["api".into()];
        });
        assert!(only.wants(&need(Reason::Approval, "/w/api", None), 0));
        assert!(!only.wants(&need(Reason::Approval, "/w/web", None), 0));
        assert!(!only.wants(&need(Reason::Stuck, "/w/api", None), 0));
        let night = sink(|s| s.quiet_hours = Some("22:00-07:00".into()));
        assert!(!night.wants(&need(Reason::Approval, "/w", None), 23 * 60));
        assert!(!night.wants(&need(Reason::Approval, "/w", None), 6 * 60 + 59));
        assert!(night.wants(&need(Reason::Approval, "/w", None), 7 * 60));
        let lunch = sink(|s| s.quiet_hours = Some("12:00-13:00".into()));
        assert!(!lunch.wants(&need(Reason::Approval, "/w", None), 12 * 60 + 30));
        assert!(lunch.wants(&need(Reason::Approval, "/w", None), 13 * 60));
        let always = sink(|s| s.quiet_hours = Some("00:00-00:00".into()));
        assert!(!always.wants(&need(Reason::Approval, "/w", None), 23 * 60 + 59));
    }

    #[test]
    fn a_burst_is_one_notice_and_only_a_lone_approval_has_actions() {
        let one = group(
            vec![need(Reason::Approval, "/w/api", None)],
            Some("http://h:1/"),
        );
        assert_eq!(one.approval_id(), Some("apr_1"));
        assert_eq!(one.url.as_deref(), Some("http://h:1/#/session/s1"));
        let burst: Vec<Need> = (0..50)
            .map(|_| need(Reason::Approval, "/w/api", None))
            .collect();
        let g = group(burst, None);
        assert_eq!((g.count, g.reason.as_str()), (50, "grouped"));
        assert_eq!(g.title, "50 things need you in 1 session");
        assert_eq!(g.body.lines().count(), 11);
        assert_eq!(g.approval_id(), None);
    }
}
