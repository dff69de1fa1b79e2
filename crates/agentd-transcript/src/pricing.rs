//! What tokens cost: USD per million tokens, per model and token class.
//!
//! Sources: Anthropic's published API prices (the "Pricing" page of the
//! Claude API documentation), as of 2026-11-23, and the model catalog Claude
//! Code itself prices its `cost.total_cost_usd` with (the `pricing` tiers of
//! the pinned Claude Code 2.1.330's bundle, read 2026-11-29: e.g.
//! `claude-opus-5-5` → `tier_4_20_cache_read_0_20`). Cache writes with a
//! 5-minute lifetime cost 1.25× input, with a 1-hour lifetime 2× input;
//! cache reads 0.1× input unless a tier says otherwise. Sonnet 4 and 4.5
//! requests whose prompt (input + cache writes + cache reads) exceeds
//! 200 000 tokens, and Haiku 5.5 requests over 100 000, are billed at the
//! long-context rates. Models not in the table are *unpriced*: reports list
//! them as such and never count them as free. `agentd.toml` can add or
//! override entries (`[pricing."model-id"]`).
//!
//! Codex CLI's and Gemini CLI's models: OpenAI's API pricing page
//! (standard tier; cached input as listed, no cache-write charge) and
//! Google's Gemini Developer API pricing page (standard tier; Pro models'
//! prompts over 200 000 tokens at the long-context rates; context-cache
//! reads as listed, storage not counted), as of 2026-11-30. Only models
//! whose prices those pages state are here; a newer one is unpriced until
//! it is added (or priced in `agentd.toml`).

use crate::Usage;

/// Prices of one model, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Price {
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Cache writes, 5-minute lifetime.
    pub cache_write_5m: f64,
    /// Cache writes, 1-hour lifetime.
    pub cache_write_1h: f64,
    /// Cache reads.
    pub cache_read: f64,
    /// Rates for requests whose prompt exceeds [`LONG_CONTEXT_TOKENS`].
    #[serde(default)]
    pub long_context: Option<LongContext>,
}

/// Long-context rates, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct LongContext {
    /// Prompt size (input + cache writes + cache reads, tokens) above which
    /// these rates apply: 200 000 (the default) or 100 000.
    #[serde(default = "default_long_above")]
    pub above_prompt_tokens: u64,
    /// Uncached input.
    pub input: f64,
    /// Output.
    pub output: f64,
    /// Cache writes, 5-minute lifetime.
    pub cache_write_5m: f64,
    /// Cache writes, 1-hour lifetime.
    pub cache_write_1h: f64,
    /// Cache reads.
    pub cache_read: f64,
}

/// Prompt size (input + cache writes + cache reads, tokens) above which the
/// long-context rates apply unless a model says otherwise.
pub const LONG_CONTEXT_TOKENS: u64 = 200_000;

/// The other threshold a model may use (Haiku 5.5).
pub const SHORT_LONG_CONTEXT_TOKENS: u64 = 100_000;

fn default_long_above() -> u64 {
    LONG_CONTEXT_TOKENS
}

/// Input, output and cache-read rates; writes at 1.25× and 2× input.
const fn tier(input: f64, output: f64, cache_read: f64) -> Price {
    Price {
        cache_read,
        ..std_price(input, output)
    }
}

const fn std_price(input: f64, output: f64) -> Price {
    Price {
        input,
        output,
        cache_write_5m: input * 1.25,
        cache_write_1h: input * 2.0,
        cache_read: input * 0.1,
        long_context: None,
    }
}

const SONNET_LONG: LongContext = LongContext {
    above_prompt_tokens: LONG_CONTEXT_TOKENS,
    input: 6.0,
    output: 22.5,
    cache_write_5m: 7.5,
    cache_write_1h: 12.0,
    cache_read: 0.6,
};

/// OpenAI and Google bill no cache writes: input, output and cache-read
/// rates only.
const fn read_price(input: f64, output: f64, cache_read: f64) -> Price {
    Price {
        input,
        output,
        cache_write_5m: input,
        cache_write_1h: input,
        cache_read,
        long_context: None,
    }
}

/// A Gemini Pro price with its rates for prompts over 200 000 tokens.
const fn gemini_pro(short: (f64, f64, f64), long: (f64, f64, f64)) -> Price {
    Price {
        long_context: Some(LongContext {
            above_prompt_tokens: LONG_CONTEXT_TOKENS,
            input: long.0,
            output: long.1,
            cache_write_5m: long.0,
            cache_write_1h: long.0,
            cache_read: long.2,
        }),
        ..read_price(short.0, short.1, short.2)
    }
}

/// The shipped table: model family (the id with any date suffix removed)
/// → price. Matched by [`family`].
pub const TABLE: &[(&str, Price)] = &[
    // OpenAI (Codex CLI).
    ("gpt-5.2", read_price(1.75, 14.0, 0.175)),
    ("gpt-5.1-codex-mini", read_price(0.25, 2.0, 0.025)),
    ("gpt-5.1-codex", read_price(1.25, 10.0, 0.125)),
    ("gpt-5.1", read_price(1.25, 10.0, 0.125)),
    ("gpt-5-codex", read_price(1.25, 10.0, 0.125)),
    ("gpt-5", read_price(1.25, 10.0, 0.125)),
    ("gpt-5-mini", read_price(0.25, 2.0, 0.025)),
    ("gpt-5-nano", read_price(0.05, 0.4, 0.005)),
    ("gpt-4.1", read_price(2.0, 8.0, 0.5)),
    ("gpt-4.1-mini", read_price(0.4, 1.6, 0.1)),
    ("gpt-4.1-nano", read_price(0.1, 0.4, 0.025)),
    ("gpt-4o", read_price(2.5, 10.0, 1.25)),
    ("gpt-4o-mini", read_price(0.15, 0.6, 0.075)),
    ("o3", read_price(2.0, 8.0, 0.5)),
    ("o4-mini", read_price(1.1, 4.4, 0.275)),
    ("codex-mini-latest", read_price(1.5, 6.0, 0.375)),
    // Google (Gemini CLI).
    (
        "gemini-3-pro-preview",
        gemini_pro((2.0, 12.0, 0.2), (4.0, 18.0, 0.4)),
    ),
    (
        "gemini-2.5-pro",
        gemini_pro((1.25, 10.0, 0.125), (2.5, 15.0, 0.25)),
    ),
    ("gemini-2.5-flash", read_price(0.3, 2.5, 0.03)),
    ("gemini-2.5-flash-lite", read_price(0.1, 0.4, 0.01)),
    ("claude-fable-5-2", tier(8.0, 40.0, 0.2)),
    ("claude-mythos-5-2", tier(8.0, 40.0, 0.2)),
    ("claude-fable-5-1", tier(10.0, 50.0, 0.25)),
    ("claude-mythos-5-1", tier(10.0, 50.0, 0.25)),
    ("claude-fable-5", std_price(10.0, 50.0)),
    ("claude-mythos-5", std_price(10.0, 50.0)),
    ("claude-opus-5-5", tier(4.0, 20.0, 0.2)),
    ("claude-opus-5", std_price(5.0, 25.0)),
    ("claude-opus-4-8", std_price(5.0, 25.0)),
    ("claude-opus-4-7", std_price(5.0, 25.0)),
    ("claude-opus-4-6", std_price(5.0, 25.0)),
    ("claude-opus-4-5", std_price(5.0, 25.0)),
    ("claude-opus-4-1", std_price(15.0, 75.0)),
    ("claude-opus-4", std_price(15.0, 75.0)),
    ("claude-3-opus", std_price(15.0, 75.0)),
    (
        "claude-sonnet-4-5",
        Price {
            long_context: Some(SONNET_LONG),
            ..std_price(3.0, 15.0)
        },
    ),
    (
        "claude-sonnet-4",
        Price {
            long_context: Some(SONNET_LONG),
            ..std_price(3.0, 15.0)
        },
    ),
    ("claude-sonnet-5-5", tier(2.0, 10.0, 0.1)),
    ("claude-sonnet-5", std_price(2.0, 10.0)),
    ("claude-sonnet-4-6", std_price(3.0, 15.0)),
    ("claude-3-7-sonnet", std_price(3.0, 15.0)),
    ("claude-3-5-sonnet", std_price(3.0, 15.0)),
    (
        "claude-haiku-5-5",
        Price {
            long_context: Some(LongContext {
                above_prompt_tokens: SHORT_LONG_CONTEXT_TOKENS,
                input: 0.5,
                output: 2.5,
                cache_write_5m: 0.625,
                cache_write_1h: 1.0,
                cache_read: 0.05,
            }),
            ..std_price(0.1, 0.5)
        },
    ),
    ("claude-haiku-4-5", std_price(1.0, 5.0)),
    ("claude-3-5-haiku", std_price(0.8, 4.0)),
    ("claude-3-haiku", std_price(0.25, 1.25)),
];

/// The table key of a model id: provider prefixes (`anthropic.`,
/// `us.anthropic.`), version suffixes (`@20250514`, `-v1:0`) and a trailing
/// `-YYYYMMDD` date are removed. `claude-sonnet-4-5-20250929` →
/// `claude-sonnet-4-5`.
pub fn family(model: &str) -> &str {
    let mut m = model;
    if let Some(i) = m.find("claude-") {
        m = &m[i..];
    }
    // Gemini's `models/…`, OpenAI's `openai/…` on routers.
    if let Some((_, tail)) = m.rsplit_once('/') {
        m = tail;
    }
    // OpenAI's snapshots end `-YYYY-MM-DD`.
    if m.len() > 11 {
        let (head, tail) = m.split_at(m.len() - 11);
        let b = tail.as_bytes();
        if b[0] == b'-'
            && b[5] == b'-'
            && b[8] == b'-'
            && [1, 2, 3, 4, 6, 7, 9, 10]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
        {
            m = head;
        }
    }
    if let Some(i) = m.find(['@', ':']) {
        m = &m[..i];
    }
    if let Some(stripped) = m.strip_suffix("-v1") {
        m = stripped;
    }
    if let Some((head, tail)) = m.rsplit_once('-')
        && tail.len() == 8
        && tail.bytes().all(|b| b.is_ascii_digit())
    {
        m = head;
    }
    m
}

/// The price of `model`: an override first (exact id, then family), then
/// the shipped table.
pub fn lookup(model: &str, overrides: &[(String, Price)]) -> Option<Price> {
    let fam = family(model);
    overrides
        .iter()
        .find(|(k, _)| k == model)
        .or_else(|| overrides.iter().find(|(k, _)| k == fam))
        .map(|(_, p)| *p)
        .or_else(|| TABLE.iter().find(|(k, _)| *k == fam).map(|(_, p)| *p))
}

/// A request's prompt size: input + cache writes + cache reads, tokens.
pub fn prompt_tokens(u: &Usage) -> u64 {
    u.input_tokens
        .saturating_add(u.cache_creation_input_tokens)
        .saturating_add(u.cache_read_input_tokens)
}

/// Whether a prompt of `prompt` tokens gets `price`'s long-context rates.
pub fn is_long_at(price: &Price, prompt: u64) -> bool {
    price
        .long_context
        .is_some_and(|l| prompt > l.above_prompt_tokens)
}

/// The cost of one request's `usage` at `price`, USD.
pub fn cost(price: &Price, u: &Usage) -> f64 {
    cost_at(price, u, is_long_at(price, prompt_tokens(u)))
}

/// The cost of `u` — one request, or the sum of requests that were all
/// `long` or all not — at `price`, USD. (Summed usage cannot say whether
/// its requests were long; the caller keeps them apart.)
pub fn cost_at(price: &Price, u: &Usage, long: bool) -> f64 {
    let (input, output, w5, w1, read) = match price.long_context {
        Some(l) if long => (
            l.input,
            l.output,
            l.cache_write_5m,
            l.cache_write_1h,
            l.cache_read,
        ),
        _ => (
            price.input,
            price.output,
            price.cache_write_5m,
            price.cache_write_1h,
            price.cache_read,
        ),
    };
    let w1h = u
        .cache_creation_1h_tokens
        .min(u.cache_creation_input_tokens);
    let w5m = u.cache_creation_input_tokens - w1h;
    (u.input_tokens as f64 * input
        + u.output_tokens as f64 * output
        + w5m as f64 * w5
        + w1h as f64 * w1
        + u.cache_read_input_tokens as f64 * read)
        / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(family("claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
        assert_eq!(family("claude-opus-4-6"), "claude-opus-4-6");
        assert_eq!(
            family("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            "claude-3-5-haiku"
        );
        assert_eq!(family("claude-opus-4@20250514"), "claude-opus-4");
        assert_eq!(family("<synthetic>"), "<synthetic>");
        assert_eq!(family("gpt-5-2025-08-07"), "gpt-5");
        assert_eq!(family("models/gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(family("gpt-5.1-codex"), "gpt-5.1-codex");
    }

    #[test]
    fn other_agents_models() {
        let g = lookup("gpt-5-codex", &[]).unwrap();
        assert_eq!((g.input, g.output, g.cache_read), (1.25, 10.0, 0.125));
        let p = lookup("gemini-2.5-pro", &[]).unwrap();
        let u = |n| Usage {
            input_tokens: n,
            ..Usage::default()
        };
        assert!((cost(&p, &u(200_000)) - 0.25).abs() < 1e-12);
        assert!((cost(&p, &u(200_001)) - 200_001.0 * 2.5 / 1e6).abs() < 1e-12);
        // Not on the pages as of the table's date: unpriced, never free.
        assert!(lookup("gemini-3.1-pro-preview", &[]).is_none());
        assert!(lookup("gpt-fake", &[]).is_none());
    }

    #[test]
    fn claude_codes_own_tiers() {
        let p = lookup("claude-opus-5-5", &[]).unwrap();
        assert_eq!((p.input, p.output, p.cache_read), (4.0, 20.0, 0.2));
        assert_eq!((p.cache_write_5m, p.cache_write_1h), (5.0, 8.0));
        let h = lookup("claude-haiku-5-5", &[]).unwrap();
        let u = |n| Usage {
            input_tokens: n,
            ..Usage::default()
        };
        // Haiku 5.5's long rates start above 100 000 prompt tokens.
        assert!((cost(&h, &u(100_000)) - 0.01).abs() < 1e-12);
        assert!((cost(&h, &u(100_001)) - 100_001.0 * 0.5 / 1e6).abs() < 1e-12);
        assert!(!is_long_at(
            &lookup("claude-opus-5-5", &[]).unwrap(),
            900_000
        ));
    }

    #[test]
    fn unknown_models_are_unpriced() {
        assert!(lookup("claude-opus-9", &[]).is_none());
        assert!(lookup("<synthetic>", &[]).is_none());
        assert!(lookup("claude-haiku-4-5-20251001", &[]).is_some());
    }

    #[test]
    fn overrides_win() {
        let o = vec![("claude-opus-9".to_owned(), std_price(1.0, 2.0))];
        assert_eq!(lookup("claude-opus-9", &o).map(|p| p.output), Some(2.0));
    }

    #[test]
    fn cost_by_class() {
        let p = lookup("claude-sonnet-4-5-20250929", &[]).unwrap();
        let u = Usage {
            input_tokens: 1_000_000,
            output_tokens: 1_000_000,
            cache_creation_input_tokens: 2_000_000,
            cache_read_input_tokens: 1_000_000,
            cache_creation_1h_tokens: 1_000_000,
        };
        // Long context: 6 + 22.5 + 7.5 (5 m) + 12 (1 h) + 0.6.
        assert!((cost(&p, &u) - 48.6).abs() < 1e-9);
        let small = Usage {
            input_tokens: 1000,
            output_tokens: 1000,
            ..Usage::default()
        };
        assert!((cost(&p, &small) - 0.018).abs() < 1e-12);
    }
}
