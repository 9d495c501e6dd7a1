//! Paging links (GS CIM 009 §5.5.9, §4.12): the `Link` headers `rel="prev"` and
//! `rel="next"` of a page, computed from the request parameters. Pure.

use crate::query::params::Params;

/// The characters escaped in the query strings of paging links: those not allowed in a
/// URI query (RFC 3986 §3.4), the separators `&`, `=`, `+`, `;`, and `,` (which separates
/// the values of a `Link` header).
const LINK_QUERY: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'&')
    .add(b'=')
    .add(b'+')
    .add(b';')
    .add(b',');

/// The `Link` headers `rel="prev"` and `rel="next"` of a page (GS CIM 009 §5.5.9, §4.12):
/// the request's parameters in name order with the page's `limit` and `offset`, and the
/// media type of the answer.
pub fn page_links(
    base: &str,
    p: &Params,
    offset: usize,
    limit: usize,
    total: usize,
    media: &str,
) -> Vec<(&'static str, String)> {
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, LINK_QUERY).to_string();
    prev_next_links(offset, limit, total, media, |off| {
        let mut all: Vec<(String, String)> =
            p.0.iter()
                .filter(|(k, _)| k.as_str() != "offset" && k.as_str() != "limit")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        all.push(("limit".into(), limit.to_string()));
        all.push(("offset".into(), off.to_string()));
        all.sort();
        let qs: Vec<String> = all
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        format!("{base}?{}", qs.join("&"))
    })
}

/// The paging `Link` headers of a list answer (GS CIM 009 §5.5.9, §4.12): `rel="prev"`
/// unless the page is the first, `rel="next"` unless it is the last, none when `limit`
/// is 0. `url` gives the address of the page starting at an offset; `media` is the
/// media type of the answer.
pub fn prev_next_links(
    offset: usize,
    limit: usize,
    total: usize,
    media: &str,
    url: impl Fn(usize) -> String,
) -> Vec<(&'static str, String)> {
    let link = |off: usize, rel: &str| {
        (
            "link",
            format!("<{}>; rel=\"{rel}\"; type=\"{media}\"", url(off)),
        )
    };
    let mut out = Vec::new();
    if limit > 0 && offset > 0 {
        out.push(link(offset.saturating_sub(limit), "prev"));
    }
    if limit > 0 && offset + limit < total {
        out.push(link(offset + limit, "next"));
    }
    out
}
