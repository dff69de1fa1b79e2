//! Approvals: list, get, decide.

use agentd_core::{Approval, ApprovalStatus, Decision};
use agentd_proto::api::{ApprovalView, ApprovalsListParams, DecideParams};

use super::{Service, ServiceError};
use crate::approvals;
use crate::writer::Resolution;

impl Service {
    /// Approvals, pending ones unless `all`, newest first.
    ///
    /// # Errors
    /// [`ServiceError::Store`].
    pub async fn approvals(
        &self,
        p: ApprovalsListParams,
    ) -> Result<Vec<ApprovalView>, ServiceError> {
        let limit = p.limit.unwrap_or(1000).clamp(1, 100_000);
        let list = self
            .shared
            .log
            .read(move |r| r.approvals(p.all, p.session_id.as_deref(), limit))
            .await?;
        Ok(list.into_iter().map(ApprovalView::new).collect())
    }

    /// Finds an approval by id or unique id prefix.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`], or [`ServiceError::Invalid`] for an ambiguous prefix.
    pub async fn approval(&self, id: &str) -> Result<Approval, ServiceError> {
        let shared = &self.shared;
        let key = id.to_owned();
        let mut found = shared.log.read(move |r| r.approval(&key)).await?;
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ServiceError::not_found(format!(
                "no approval `{id}`; `agentd approvals --all` lists them"
            ))),
            _ => Err(ServiceError::ambiguous(format!(
                "`{id}` matches several approvals; give more of the id"
            ))),
        }
    }

    /// `approvals.decide`: the first decision wins.
    ///
    /// # Errors
    /// [`ServiceError::Conflict`] naming who decided first, [`ServiceError::Gone`] when no hook
    /// call waits any more (the approval then expires), not found, store errors.
    pub async fn decide(
        &self,
        p: DecideParams,
        client: &str,
    ) -> Result<ApprovalView, ServiceError> {
        let shared = &self.shared;
        let approval = self.approval(&p.id).await?;
        let by = p.by.clone().unwrap_or_else(|| client.to_owned());
        if approval.status == ApprovalStatus::Pending && !approvals::reachable(shared, &approval.id)
        {
            let r = Resolution {
                id: approval.id.clone(),
                status: ApprovalStatus::Expired,
                decision: None,
                by: "agentd".to_owned(),
                reason: Some("no hook call waits for it any more".to_owned()),
            };
            // Resolved meanwhile: the compare-and-set below reports who won.
            if approvals::settle(shared, r).await.is_ok() {
                return Err(ServiceError::gone(format!(
                    "approval {} can no longer be decided here: Claude Code stopped waiting for it, so it expired; answer in the terminal",
                    approval.id
                )));
            }
        }
        let mut decision = p.decision;
        if p.apply_suggestions
            && let Decision::Allow {
                updated_permissions,
                ..
            } = &mut decision
            && !approval.permission_suggestions.is_null()
        {
            *updated_permissions = Some(approval.permission_suggestions.clone());
        }
        let r = Resolution {
            id: approval.id,
            status: decision.status(),
            decision: Some(decision),
            by,
            reason: p.reason,
        };
        Ok(ApprovalView::new(approvals::settle(shared, r).await?))
    }
}

impl Service {
    /// Decides approval `id` through a notification's signed link
    /// ([`crate::notify`]): `decision` is `allow` or `deny`, `sig` the
    /// link's signature; recorded as decided by `notify`.
    ///
    /// # Errors
    /// [`ServiceError::Invalid`] for another decision or a signature that
    /// does not match (a link from another daemon, or edited); then as
    /// [`Service::decide`] (not found, already decided).
    pub async fn decide_by_link(
        &self,
        id: &str,
        decision: &str,
        sig: &str,
    ) -> Result<ApprovalView, ServiceError> {
        let (verb, decision) = notification_decision(decision)?;
        if !self.shared.notify.verify(id, verb, sig) {
            return Err(ServiceError::invalid(
                "this link's signature does not match: it is from another agentd, or from before a restart; decide in agentd instead",
            ));
        }
        self.decide(
            DecideParams {
                id: id.to_owned(),
                decision,
                apply_suggestions: false,
                by: Some("notify".to_owned()),
                reason: Some("a notification's button".to_owned()),
            },
            "notify",
        )
        .await
    }

    /// Decides approval `id` with `action` (`allow` or `deny`), the button
    /// a user clicked on a desktop notification agentd showed for it (the
    /// notification server said so on the session bus).
    ///
    /// # Errors
    /// As [`Service::decide`]; [`ServiceError::Invalid`] for another action.
    pub async fn decide_from_desktop(
        &self,
        id: &str,
        action: &str,
    ) -> Result<ApprovalView, ServiceError> {
        let (_, decision) = notification_decision(action)?;
        self.decide(
            DecideParams {
                id: id.to_owned(),
                decision,
                apply_suggestions: false,
                by: Some("desktop".to_owned()),
                reason: Some("a desktop notification's button".to_owned()),
            },
            "desktop",
        )
        .await
    }
}

/// A notification button's `allow` / `deny` → the decision it makes.
fn notification_decision(
    verb: &str,
) -> Result<(&'static str, agentd_core::Decision), ServiceError> {
    match verb {
        "allow" => Ok((
            "allow",
            agentd_core::Decision::Allow {
                updated_input: None,
                updated_permissions: None,
            },
        )),
        "deny" => Ok((
            "deny",
            agentd_core::Decision::Deny {
                message: Some("Denied from a notification via agentd.".to_owned()),
            },
        )),
        other => Err(ServiceError::invalid(format!(
            "a notification decides allow or deny, not `{other}`"
        ))),
    }
}
