//! GIFT, Moodle's plain-text question format: import and export.
//!
//! No maintained Rust crate reads GIFT, so the question grammar is written with
//! `winnow`; the file-level structure (blank lines between questions, `//`
//! comment lines, `$CATEGORY:` lines) is line-based, as Moodle defines it.
//!
//! Import decisions:
//! - Supported: multiple choice `{=right ~wrong}`, multiple answers with weights
//!   `{~%50%a ~%50%b ~%-100%c}` (a positive weight marks a correct option),
//!   true/false `{T}` `{TRUE}` `{F}` `{FALSE}` as the options "True"/"False" with
//!   Moodle's `{T#feedback when wrong#feedback when right}`, per-answer feedback
//!   `#…`, escapes `\~ \= \# \{ \} \: \\` and `\n` (newline), multi-line
//!   questions, and `[html]`/`[moodle]`/`[plain]`/`[markdown]` prefixes (stripped;
//!   the texts of an `[html]` or `[moodle]` question are turned into plain text
//!   with `nanohtml2text`, since sellers read text).
//! - `::Title::` becomes the nugget key: kept when it already is a valid key,
//!   slugified otherwise; without a usable title the key is `q-001`, `q-002`, …
//!   by question position.
//! - `$CATEGORY: a/b/c` sets the topic of the following questions to its last
//!   segment (`//` stands for a literal `/`, as in Moodle); before any category
//!   the topic is "General".
//! - `[tag:…]` tokens in a question's `//` comment lines (as Moodle reads them)
//!   become tags; a `[media:URL]` token becomes the media URL (a Reprise
//!   extension that Moodle ignores as a comment).
//! - General feedback `####…` is the explanation. Banks exported from Moodle often
//!   lack it, so a question without it imports with a warning on its line (an
//!   error when the import is strict); sellers then see the per-answer feedback
//!   and the correct answer. Nothing is invented in its place.
//! - Short answer, matching, numerical, essay, missing-word (text after the
//!   braces) and description (no braces) questions are errors naming the line:
//!   "unsupported GIFT question type: …"; with `skip_unsupported` they are
//!   warnings instead, counted, and the rest of the file imports. Nothing is
//!   dropped silently.
//! - Surrounding whitespace of every text is trimmed, as Moodle does.
//!
//! Export writes the same dialect back so that importing it yields an equal pack
//! (the pack metadata travels separately as [`ImportMeta`]): one `$CATEGORY`
//! per topic change, the key as title, `=`/`~` for single-answer nuggets and
//! weights for multi-select ones (correct options share 100%, wrong ones get
//! -100%), feedback after `#` and the explanation after `####`.

use std::fmt::{self, Write};
use std::ops::Range;

use winnow::ascii::{escaped, multispace0, take_escaped};
use winnow::combinator::{
    alt, delimited, empty, eof, not, opt, peek, preceded, repeat, terminated,
};
use winnow::error::{ContextError, ErrMode};
use winnow::stream::LocatingSlice;
use winnow::token::{any, literal, one_of, rest, take_till, take_while};
use winnow::{ModalResult, Parser};

use super::validate::{is_slug, validate_sourced, Sourced};
use super::{strip_bom, ContentError, ImportMeta, Nugget, NuggetKind, NuggetOption, Pack, Parsed};

/// Topic of questions that come before any `$CATEGORY:` line.
const DEFAULT_TOPIC: &str = "General";
const FORMAT_PREFIXES: [&str; 4] = ["[html]", "[moodle]", "[plain]", "[markdown]"];
const CATEGORY: &str = "$CATEGORY:";

type Input<'a> = LocatingSlice<&'a str>;
type PError = ErrMode<ContextError>;

/// Parses a GIFT file into a validated pack with the given metadata; a question of a type
/// Reprise does not ask is an error.
pub fn parse_gift(text: &str, meta: &ImportMeta, file: Option<&str>) -> Parsed {
    parse_gift_with(text, meta, file, false)
}

/// [`parse_gift`], skipping questions of unsupported types when `skip_unsupported` (each a
/// warning on its line, and one warning counting them) so the rest of a bank imports.
pub fn parse_gift_with(
    text: &str,
    meta: &ImportMeta,
    file: Option<&str>,
    skip_unsupported: bool,
) -> Parsed {
    let mut errors = Vec::new();
    let mut sourced = Vec::new();
    let mut topic = DEFAULT_TOPIC.to_string();
    let mut declared = 0;
    let mut skipped: Vec<String> = Vec::new();
    for item in items(strip_bom(text)) {
        match item {
            Item::Category(path) => topic = topic_from_category(&path),
            Item::Question(block) => {
                match read_question(&block, declared, &topic) {
                    Ok(found) => sourced.push(found),
                    Err((line, message)) => {
                        if let (true, Some(kind)) =
                            (skip_unsupported, message.strip_prefix(UNSUPPORTED))
                        {
                            errors.push(ContentError::warning(
                                file,
                                Some(line),
                                "",
                                format!("skipped: {message}"),
                            ));
                            skipped.push(kind.to_string());
                            // Not a nugget of the pack: the next question takes its index.
                            continue;
                        }
                        errors.push(ContentError::new(
                            file,
                            Some(line),
                            format!("nuggets[{declared}]"),
                            message,
                        ));
                    }
                }
                declared += 1;
            }
        }
    }
    if !skipped.is_empty() {
        errors.push(ContentError::warning(
            file,
            None,
            "",
            skipped_summary(&skipped),
        ));
    }
    validate_sourced(meta, sourced, declared, errors, file, ToString::to_string)
}

/// "3 questions skipped (2 matching, 1 essay): Reprise asks multiple choice and true/false."
fn skipped_summary(kinds: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for kind in kinds {
        let short = kind.split(" (").next().unwrap_or(kind);
        match counts.iter_mut().find(|(k, _)| *k == short) {
            Some((_, n)) => *n += 1,
            None => counts.push((short, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let total = kinds.len();
    format!(
        "{total} question{} skipped ({}): Reprise asks multiple choice and true/false",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// The last segment of the file's first `$CATEGORY:`, if any: the bank's name as Moodle
/// shows it, which makes a good pack title.
pub(crate) fn first_category(text: &str) -> Option<String> {
    items(strip_bom(text))
        .into_iter()
        .find_map(|item| match item {
            Item::Category(path) if !path.trim().is_empty() => Some(topic_from_category(&path)),
            _ => None,
        })
}

/// Writes a pack as GIFT; [`parse_gift`] reads it back to an equal pack given
/// the same metadata. Expects a valid pack.
pub fn to_gift(pack: &Pack) -> String {
    let mut out = String::new();
    write_pack(&mut out, pack).expect("writing to a String cannot fail");
    out
}

fn write_pack(out: &mut String, pack: &Pack) -> fmt::Result {
    write!(out, "// Reprise pack: {}\n\n", pack.slug)?;
    let mut topic: Option<&str> = None;
    for nugget in &pack.nuggets {
        if topic != Some(nugget.topic.as_str()) {
            write!(out, "{CATEGORY} {}\n\n", nugget.topic.replace('/', "//"))?;
            topic = Some(&nugget.topic);
        }
        write_nugget(out, nugget)?;
    }
    Ok(())
}

fn write_nugget(out: &mut String, nugget: &Nugget) -> fmt::Result {
    if !nugget.tags.is_empty() {
        let tags: Vec<String> = nugget
            .tags
            .iter()
            .map(|tag| format!("[tag:{}]", escape_token(tag)))
            .collect();
        writeln!(out, "// {}", tags.join(" "))?;
    }
    if let Some(url) = &nugget.media_url {
        writeln!(out, "// [media:{}]", escape_token(url))?;
    }
    writeln!(
        out,
        "::{}:: {} {{",
        escape(&nugget.key),
        escape(&nugget.prompt)
    )?;
    let correct = nugget
        .options
        .iter()
        .filter(|option| option.correct)
        .count();
    for option in &nugget.options {
        let text = escape(&option.text);
        // A text starting with `%` would read as a weight, so give it an explicit one.
        let marker = match (correct, option.correct) {
            (1, true) if text.starts_with('%') => "=%100%".to_string(),
            (1, true) => "=".to_string(),
            (1, false) if text.starts_with('%') => "~%0%".to_string(),
            (1, false) => "~".to_string(),
            (_, true) => format!("~%{}%", share_of_hundred(correct)),
            (_, false) => "~%-100%".to_string(),
        };
        write!(out, "\t{marker}{text}")?;
        if let Some(feedback) = &option.feedback {
            write!(out, "#{}", escape(feedback))?;
        }
        out.push('\n');
    }
    write!(out, "\t####{}\n}}\n\n", escape(&nugget.explanation))
}

/// `100 / parts` with at most five decimals, the precision Moodle's weights use.
fn share_of_hundred(parts: usize) -> String {
    let share = format!("{:.5}", 100.0 / parts as f64);
    share
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// Escapes GIFT's special characters; a text that starts like a format prefix
/// gets `[plain]` in front so the importer strips that instead of the text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if FORMAT_PREFIXES
        .iter()
        .any(|prefix| text.trim_start().starts_with(prefix))
    {
        out.push_str("[plain]");
    }
    for c in text.chars() {
        match c {
            '\\' | '~' | '=' | '#' | '{' | '}' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes the value of a `[tag:…]` or `[media:…]` comment token.
fn escape_token(value: &str) -> String {
    value.replace('\\', "\\\\").replace(']', "\\]")
}

// ---------------------------------------------------------------------------
// File structure

/// A run of non-blank lines holding one question; comment lines are blanked out
/// of `text` (keeping line numbers) and kept in `comments`.
struct Block<'a> {
    first_line: usize,
    text: String,
    comments: Vec<&'a str>,
}

impl Block<'_> {
    fn line_at(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.first_line
            + self.text.as_bytes()[..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
    }
}

enum Item<'a> {
    Category(String),
    Question(Block<'a>),
}

/// Splits a file into category switches and question blocks, in order.
fn items(text: &str) -> Vec<Item<'_>> {
    fn flush<'a>(current: &mut Option<(Block<'a>, Vec<&'a str>)>, items: &mut Vec<Item<'a>>) {
        if let Some((mut block, lines)) = current.take() {
            block.text = lines.join("\n");
            if !block.text.trim().is_empty() {
                items.push(Item::Question(block));
            }
        }
    }
    let mut items = Vec::new();
    let mut current = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut current, &mut items);
        } else if let Some(path) = trimmed.strip_prefix(CATEGORY) {
            flush(&mut current, &mut items);
            items.push(Item::Category(path.to_string()));
        } else {
            let (block, lines) = current.get_or_insert_with(|| {
                let block = Block {
                    first_line: number + 1,
                    text: String::new(),
                    comments: Vec::new(),
                };
                (block, Vec::new())
            });
            if trimmed.starts_with("//") {
                block.comments.push(trimmed);
                lines.push("");
            } else {
                lines.push(line);
            }
        }
    }
    flush(&mut current, &mut items);
    items
}

/// The last segment of a category path, where `//` is a literal slash.
fn topic_from_category(path: &str) -> String {
    let mut segments = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                chars.next();
                segments
                    .last_mut()
                    .expect("segments start non-empty")
                    .push('/');
            }
            ('/', _) => segments.push(String::new()),
            _ => segments
                .last_mut()
                .expect("segments start non-empty")
                .push(c),
        }
    }
    segments
        .iter()
        .map(|segment| segment.trim())
        .rfind(|segment| !segment.is_empty())
        .unwrap_or(DEFAULT_TOPIC)
        .to_string()
}

// ---------------------------------------------------------------------------
// Question grammar

/// Raw (still escaped) text and its byte range in the block.
#[derive(Clone, Debug)]
struct Raw<'a> {
    text: &'a str,
    span: Range<usize>,
}

struct RawQuestion<'a> {
    title: Option<Raw<'a>>,
    text: Raw<'a>,
    answers: Option<Raw<'a>>,
    trailing: Raw<'a>,
}

#[derive(Clone, Debug)]
struct RawAnswer<'a> {
    marker: char,
    at: usize,
    weight: Option<Raw<'a>>,
    text: Raw<'a>,
    feedback: Option<Raw<'a>>,
}

#[derive(Clone, Debug)]
enum Kind<'a> {
    Essay,
    Numerical,
    TrueFalse {
        truth: bool,
        wrong: Option<Raw<'a>>,
        right: Option<Raw<'a>>,
    },
    Choices(Vec<RawAnswer<'a>>),
}

struct Body<'a> {
    kind: Kind<'a>,
    general: Option<Raw<'a>>,
}

fn spanned<'a, P>(mut parser: P) -> impl Parser<Input<'a>, Raw<'a>, PError>
where
    P: Parser<Input<'a>, &'a str, PError>,
{
    move |input: &mut Input<'a>| {
        parser
            .by_ref()
            .with_span()
            .map(|(text, span)| Raw { text, span })
            .parse_next(input)
    }
}

/// Text up to an unescaped character of `stops`, escapes left in place.
fn raw_till<'a>(stops: &'static [char]) -> impl Parser<Input<'a>, &'a str, PError> {
    take_escaped(
        take_till(1.., move |c: char| c == '\\' || stops.contains(&c)),
        '\\',
        opt(any),
    )
}

/// Like [`raw_till`], and also stops at `####` while a single `#` is text.
fn raw_till_general<'a>(stops: &'static [char]) -> impl Parser<Input<'a>, &'a str, PError> {
    take_escaped(
        alt((
            take_till(1.., move |c: char| {
                c == '\\' || c == '#' || stops.contains(&c)
            }),
            terminated("#", not("###")),
        )),
        '\\',
        opt(any),
    )
}

/// `::title::` up to the next unescaped `::`.
fn title<'a>(input: &mut Input<'a>) -> ModalResult<&'a str> {
    take_escaped(
        alt((
            take_till(1.., |c: char| c == ':' || c == '\\'),
            terminated(":", not(":")),
        )),
        '\\',
        opt(any),
    )
    .parse_next(input)
}

fn question<'a>(input: &mut Input<'a>) -> ModalResult<RawQuestion<'a>> {
    multispace0.parse_next(input)?;
    let title = opt(delimited("::", spanned(title), "::")).parse_next(input)?;
    let text = spanned(raw_till(&['{', '}'])).parse_next(input)?;
    let answers = opt(delimited('{', spanned(raw_till(&['{', '}'])), '}')).parse_next(input)?;
    let trailing = spanned(rest).parse_next(input)?;
    Ok(RawQuestion {
        title,
        text,
        answers,
        trailing,
    })
}

fn body<'a>(input: &mut Input<'a>) -> ModalResult<Body<'a>> {
    multispace0.parse_next(input)?;
    let kind = alt((
        peek(alt((literal("####"), eof))).value(Kind::Essay),
        preceded('#', rest).value(Kind::Numerical),
        true_false,
        repeat(1.., answer).map(Kind::Choices),
    ))
    .parse_next(input)?;
    let general = opt(preceded("####", spanned(rest))).parse_next(input)?;
    multispace0.parse_next(input)?;
    Ok(Body { kind, general })
}

fn feedback_mark(input: &mut Input<'_>) -> ModalResult<()> {
    (not("####"), '#').void().parse_next(input)
}

fn true_false<'a>(input: &mut Input<'a>) -> ModalResult<Kind<'a>> {
    let truth = terminated(
        alt((
            "TRUE".value(true),
            "FALSE".value(false),
            "T".value(true),
            "F".value(false),
        )),
        peek((multispace0, alt((literal("#"), eof)))),
    )
    .parse_next(input)?;
    multispace0.parse_next(input)?;
    let wrong = opt(preceded(feedback_mark, spanned(raw_till(&['#'])))).parse_next(input)?;
    let right = opt(preceded(feedback_mark, spanned(raw_till_general(&[])))).parse_next(input)?;
    Ok(Kind::TrueFalse {
        truth,
        wrong,
        right,
    })
}

fn answer<'a>(input: &mut Input<'a>) -> ModalResult<RawAnswer<'a>> {
    multispace0.parse_next(input)?;
    let (marker, span) = one_of(['=', '~']).with_span().parse_next(input)?;
    let weight = opt(delimited(
        '%',
        spanned(take_while(1.., |c: char| {
            c.is_ascii_digit() || matches!(c, '.' | '-' | '+')
        })),
        '%',
    ))
    .parse_next(input)?;
    let text = spanned(raw_till(&['=', '~', '#'])).parse_next(input)?;
    let feedback = opt(preceded(
        feedback_mark,
        spanned(raw_till_general(&['=', '~'])),
    ))
    .parse_next(input)?;
    Ok(RawAnswer {
        marker,
        at: span.start,
        weight,
        text,
        feedback,
    })
}

/// Replaces GIFT escapes by the characters they stand for; a backslash before
/// any other character is kept, as Moodle does.
fn unescape(raw: &str) -> String {
    fn text(input: &mut &str) -> ModalResult<String> {
        escaped(
            take_till(1.., '\\'),
            '\\',
            alt((
                one_of(['\\', ':', '#', '=', '{', '}', '~']),
                'n'.value('\n'),
                empty.value('\\'),
            )),
        )
        .parse_next(input)
    }
    text.parse(raw)
        .expect("every character is plain text or part of an escape")
}

/// Unescapes a comment token value, where only `\]` and `\\` are escapes.
fn unescape_token(raw: &str) -> String {
    fn value(input: &mut &str) -> ModalResult<String> {
        escaped(
            take_till(1.., '\\'),
            '\\',
            alt((one_of([']', '\\']), empty.value('\\'))),
        )
        .parse_next(input)
    }
    value
        .parse(raw)
        .expect("every character is plain text or part of an escape")
}

/// Final text of a raw piece: trimmed, format prefix removed, unescaped.
/// How a question's texts are written. Moodle marks the question text of an HTML question
/// `[html]` (or `[moodle]`, its own markup) and writes its answers and feedback as HTML
/// without a marker, so the question's marker applies to all of them. Sellers read plain
/// text, so HTML becomes text (paragraphs and line breaks kept as new lines).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Markup {
    Plain,
    Html,
}

impl Markup {
    /// The markup a text's own prefix names, if it has one, and the text without it.
    fn split(text: &str) -> (Option<Markup>, &str) {
        for prefix in FORMAT_PREFIXES {
            if let Some(rest) = text.strip_prefix(prefix) {
                let markup = match prefix {
                    "[html]" | "[moodle]" => Markup::Html,
                    _ => Markup::Plain,
                };
                return (Some(markup), rest);
            }
        }
        (None, text)
    }

    /// The markup of a question, from its text's prefix.
    fn of_question(raw_text: &str) -> Markup {
        Markup::split(raw_text.trim()).0.unwrap_or(Markup::Plain)
    }
}

/// A text as sellers read it: prefix removed, escapes resolved, HTML turned into text, trimmed.
fn clean(raw: &str, markup: Markup) -> String {
    let (own, text) = Markup::split(raw.trim());
    let text = unescape(text);
    match own.unwrap_or(markup) {
        Markup::Html => nanohtml2text::html2text(&text)
            .replace("\r\n", "\n")
            .trim()
            .to_string(),
        Markup::Plain => text.trim().to_string(),
    }
}

fn optional(raw: Option<&Raw>, markup: Markup) -> Option<String> {
    raw.map(|raw| clean(raw.text, markup))
        .filter(|text| !text.is_empty())
}

// ---------------------------------------------------------------------------
// From raw question to nugget

/// A problem in a question: the line it is on and what is wrong.
type Problem = (usize, String);

/// How an unsupported question's problem begins; [`parse_gift_with`] skips those on request.
const UNSUPPORTED: &str = "unsupported GIFT question type: ";

fn unsupported(line: usize, kind: &str) -> Problem {
    (line, format!("{UNSUPPORTED}{kind}"))
}

/// Reads one question block into a nugget.
fn read_question(block: &Block, index: usize, topic: &str) -> Result<Sourced, Problem> {
    let raw = question
        .parse(LocatingSlice::new(block.text.as_str()))
        .expect("the question grammar accepts any text");
    let start = raw
        .title
        .as_ref()
        .map_or(raw.text.span.start, |title| title.span.start - "::".len());
    let line = block.line_at(start);
    let answers = answer_block(&raw, block, line)?;
    let body_line = |offset: usize| block.line_at(answers.span.start + offset);
    let body = body
        .parse(LocatingSlice::new(answers.text))
        .map_err(|error| {
            (
                body_line(error.offset()),
                "answers must be T/F or start with = or ~".to_string(),
            )
        })?;
    let markup = Markup::of_question(raw.text.text);
    let (options, option_lines) = options_of(body.kind, markup, line, body_line)?;
    // Without general feedback the explanation is empty: a warning of the pack's rules.
    let explanation = optional(body.general.as_ref(), markup).unwrap_or_default();
    let (tags, media_url) = comment_metadata(&block.comments);
    let nugget = Nugget {
        kind: NuggetKind::Choice,
        rubric: Vec::new(),
        max_seconds: None,
        key: key_from_title(
            raw.title
                .map(|title| clean(title.text, Markup::Plain))
                .as_deref(),
            index + 1,
        ),
        topic: topic.to_string(),
        tags,
        prompt: clean(raw.text.text, markup),
        options,
        explanation,
        media_url,
    };
    Ok(Sourced {
        index,
        nugget,
        line,
        option_lines,
    })
}

/// The `{…}` block of a question, which must be its one and last part.
fn answer_block<'a>(raw: &RawQuestion<'a>, block: &Block, line: usize) -> Result<Raw<'a>, Problem> {
    let trailing = raw.trailing.text.trim();
    let trailing_line = block.line_at(raw.trailing.span.start);
    match &raw.answers {
        None => Err(match trailing.chars().next() {
            Some('{') => (
                trailing_line,
                "missing closing } of the answer block".into(),
            ),
            Some(_) => (trailing_line, "} without an opening {".into()),
            None => unsupported(line, "description (no answer block)"),
        }),
        Some(_) if trailing.contains(['{', '}']) => {
            Err((trailing_line, "only one {…} answer block is allowed".into()))
        }
        Some(_) if !trailing.is_empty() => Err(unsupported(
            line,
            "missing word (text after the answer block)",
        )),
        Some(answers) => Ok(answers.clone()),
    }
}

/// Options of a true/false or multiple-choice body, with the line of each;
/// other question kinds are unsupported.
fn options_of(
    kind: Kind,
    markup: Markup,
    line: usize,
    body_line: impl Fn(usize) -> usize,
) -> Result<(Vec<NuggetOption>, Vec<usize>), Problem> {
    match kind {
        Kind::Essay => Err(unsupported(line, "essay")),
        Kind::Numerical => Err(unsupported(line, "numerical")),
        Kind::TrueFalse {
            truth,
            wrong,
            right,
        } => {
            // Moodle's `{T#a#b}`: `a` is shown for the wrong choice, `b` for the right one.
            let option = |value: bool, text: &str| NuggetOption {
                text: text.to_string(),
                correct: value == truth,
                feedback: optional(
                    if value == truth {
                        right.as_ref()
                    } else {
                        wrong.as_ref()
                    },
                    markup,
                ),
            };
            Ok((
                vec![option(true, "True"), option(false, "False")],
                vec![body_line(0); 2],
            ))
        }
        Kind::Choices(answers) if answers.iter().any(|answer| answer.marker == '~') => {
            let mut options = Vec::new();
            for answer in &answers {
                options.push(NuggetOption {
                    text: clean(answer.text.text, markup),
                    correct: is_correct(answer)
                        .map_err(|message| (body_line(answer.at), message))?,
                    feedback: optional(answer.feedback.as_ref(), markup),
                });
            }
            Ok((
                options,
                answers.iter().map(|answer| body_line(answer.at)).collect(),
            ))
        }
        Kind::Choices(answers) if answers.iter().any(|answer| answer.text.text.contains("->")) => {
            Err(unsupported(line, "matching"))
        }
        Kind::Choices(_) => Err(unsupported(line, "short answer")),
    }
}

/// Tags and media URL from the `[tag:…]` and `[media:…]` tokens of comment lines.
fn comment_metadata(comments: &[&str]) -> (Vec<String>, Option<String>) {
    let mut tags = Vec::new();
    let mut media_url = None;
    for (name, value) in comments.iter().flat_map(|comment| comment_tokens(comment)) {
        match name {
            "tag" => tags.push(value.trim().to_string()),
            _ => media_url = Some(value.trim().to_string()),
        }
    }
    (tags, media_url)
}

/// `=` answers and answers with a positive weight are correct.
fn is_correct(answer: &RawAnswer) -> Result<bool, String> {
    match &answer.weight {
        None => Ok(answer.marker == '='),
        Some(weight) => weight
            .text
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .map(|value| value > 0.0)
            .ok_or_else(|| format!("invalid answer weight %{}%", weight.text)),
    }
}

/// A title that is a valid key is kept; others are slugified; no usable title
/// gives `q-NNN` from the question's position.
fn key_from_title(title: Option<&str>, number: usize) -> String {
    let title = title.unwrap_or_default();
    if is_slug(title) {
        return title.to_string();
    }
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(64);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("q-{number:03}")
    } else {
        slug.to_string()
    }
}

/// `[tag:…]` or `[media:…]`, with its value unescaped.
fn comment_token(input: &mut &str) -> ModalResult<(&'static str, String)> {
    let name = alt(("tag".value("tag"), "media".value("media")));
    let value = take_escaped(take_till(1.., [']', '\\']), '\\', opt(any));
    delimited('[', (name, ':', value), ']')
        .map(|(name, _, value)| (name, unescape_token(value)))
        .parse_next(input)
}

/// The `[tag:…]` and `[media:…]` tokens of a comment line; other text is skipped.
fn comment_tokens(comment: &str) -> Vec<(&'static str, String)> {
    let found: Vec<Option<(&'static str, String)>> =
        repeat(0.., alt((comment_token.map(Some), any.value(None))))
            .parse(comment)
            .expect("any character is skipped");
    found.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::meta;
    use super::*;

    const MOODLE_SAMPLE: &str = include_str!("testdata/moodle_sample.gift");
    const BROKEN: &str = include_str!("testdata/broken.gift");

    fn option(text: &str, correct: bool, feedback: Option<&str>) -> NuggetOption {
        NuggetOption {
            text: text.into(),
            correct,
            feedback: feedback.map(str::to_string),
        }
    }

    fn parse(text: &str) -> Result<Pack, Vec<ContentError>> {
        parse_gift(text, &meta(), Some("quiz.gift")).map(|imported| imported.pack)
    }

    #[test]
    fn moodle_sample_imports_exactly() {
        let pack = parse(MOODLE_SAMPLE).unwrap_or_else(|errors| panic!("{errors:#?}"));
        let n = &pack.nuggets;
        assert_eq!(n.len(), 6);

        assert_eq!(n[0].key, "grant-s-tomb");
        assert_eq!(n[0].topic, "General");
        assert_eq!(n[0].prompt, "Who's buried in Grant's tomb?");
        assert_eq!(
            n[0].options,
            [
                option("Grant", false, Some("No, he's in the mausoleum next door.")),
                option("Jefferson", false, None),
                option("no one", true, Some("Right: the remains lie above ground.")),
            ]
        );
        assert_eq!(
            n[0].explanation,
            "Grant and his wife are entombed, not buried."
        );
        assert_eq!(n[0].tags, ["history", "trivia"]);

        assert_eq!(n[1].key, "q-002", "no title: key from position");
        assert_eq!(n[1].topic, "Pricing");
        assert_eq!(
            n[1].prompt,
            "The value wedge is the gap between\nvalue and price."
        );
        assert_eq!(
            n[1].options,
            [
                option("True", true, Some("Yes: that gap is the wedge.")),
                option(
                    "False",
                    false,
                    Some("It is the gap between value and price.")
                ),
            ]
        );
        assert_eq!(n[1].explanation, "See chapter 2.");

        assert_eq!(n[2].key, "discount-math");
        assert_eq!(n[2].topic, "Pricing");
        assert_eq!(
            n[2].prompt,
            "Price is {100}: what is 1 = 1 after a 10% discount? 90 # 80 ~ 70"
        );
        assert_eq!(
            n[2].options,
            [
                option("90", true, Some("Right: 100 - 10 = 90.")),
                option("80", false, None),
                option("100\\", false, None),
            ]
        );
        assert_eq!(
            n[2].explanation,
            "A 10% discount removes a tenth: see also C:\\prices."
        );
        assert_eq!(
            n[2].media_url.as_deref(),
            Some("https://example.com/discount.png")
        );

        assert_eq!(n[3].key, "objections");
        assert_eq!(n[3].topic, "Sales/Objections", "`//` is a literal slash");
        assert_eq!(
            n[3].options,
            [
                option("Acknowledge", true, Some("Yes.")),
                option("Ask why", true, None),
                option("Argue", false, Some("Never argue.")),
                option("Drop the price", false, None),
            ]
        );
        assert_eq!(n[3].explanation, "Acknowledge, then explore.");

        assert_eq!(n[4].key, "q-005");
        assert_eq!(n[4].prompt, "The customer always knows their value.");
        assert_eq!(
            n[4].options,
            [
                option("True", false, Some("They often underestimate it.")),
                option("False", true, None),
            ]
        );
        assert_eq!(n[4].explanation, "Quantify it with them.");

        assert_eq!(n[5].key, "format-prefix");
        assert_eq!(n[5].prompt, "Which one?", "HTML read as text");
        assert_eq!(n[5].options[0], option("this", true, None));
        assert_eq!(n[5].options[1], option("that", false, None));
        assert_eq!(n[5].explanation, "Because.");
    }

    #[test]
    fn broken_file_reports_every_problem_by_line() {
        let errors = parse(BROKEN).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "quiz.gift:3: nuggets[0]: unsupported GIFT question type: short answer",
                "quiz.gift:5: nuggets[1]: unsupported GIFT question type: matching",
                "quiz.gift:11: nuggets[2]: unsupported GIFT question type: numerical",
                "quiz.gift:13: nuggets[3]: unsupported GIFT question type: essay",
                "quiz.gift:15: nuggets[4]: unsupported GIFT question type: missing word (text after the answer block)",
                "quiz.gift:17: nuggets[5]: unsupported GIFT question type: description (no answer block)",
                "quiz.gift:21: nuggets[7].options: no option is marked correct",
                "quiz.gift:24: nuggets[8]: missing closing } of the answer block",
                "quiz.gift:27: nuggets[9].options[1].text: duplicate option text (same as options[0])",
                "quiz.gift:29: nuggets[10]: answers must be T/F or start with = or ~",
                "quiz.gift:31: nuggets[11]: invalid answer weight %5.5.5%",
                "quiz.gift:35: nuggets[13].key: duplicate key \"dup\" (already used by nuggets[12])",
            ]
        );
    }

    #[test]
    fn export_round_trips_the_sample() {
        let pack = parse(MOODLE_SAMPLE).unwrap();
        let exported = to_gift(&pack);
        assert_eq!(
            parse(&exported).unwrap_or_else(|e| panic!("{e:#?}\n{exported}")),
            pack
        );
    }

    #[test]
    fn export_uses_weights_for_multi_select() {
        let pack = parse(MOODLE_SAMPLE).unwrap();
        let exported = to_gift(&pack);
        assert!(
            exported
                .contains("\t~%50%Acknowledge#Yes.\n\t~%50%Ask why\n\t~%-100%Argue#Never argue.\n"),
            "{exported}"
        );
        assert!(
            exported.contains("::grant-s-tomb:: Who's buried in Grant's tomb? {\n\t~Grant#"),
            "{exported}"
        );
        assert!(
            exported.contains("$CATEGORY: Sales//Objections\n"),
            "{exported}"
        );
        assert!(
            exported.contains("// [tag:history] [tag:trivia]\n"),
            "{exported}"
        );
        assert!(
            exported.contains("\t####Grant and his wife are entombed, not buried.\n}\n"),
            "{exported}"
        );
    }

    #[test]
    fn weights_share_one_hundred() {
        let shares: Vec<String> = (1..=6).map(share_of_hundred).collect();
        assert_eq!(shares, ["100", "50", "33.33333", "25", "20", "16.66667"]);
    }

    #[test]
    fn export_guards_texts_that_look_like_syntax() {
        let mut pack = parse("::k:: q {=a ~b ####e}").unwrap();
        pack.nuggets[0].prompt = "[html] is a tag".into();
        pack.nuggets[0].options[0].text = "%50% off".into();
        pack.nuggets[0].options[1].text = "%10 off".into();
        pack.nuggets[0].explanation = "line one\nline two: #### {done} \\n".into();
        let exported = to_gift(&pack);
        assert!(exported.contains("[plain][html] is a tag"), "{exported}");
        assert!(exported.contains("=%100%%50% off"), "{exported}");
        assert!(exported.contains("~%0%%10 off"), "{exported}");
        assert_eq!(parse(&exported).unwrap(), pack);
    }

    #[test]
    fn keys_from_titles() {
        assert_eq!(key_from_title(Some("vw-01"), 1), "vw-01");
        assert_eq!(key_from_title(Some("Grant's Tomb!"), 1), "grant-s-tomb");
        assert_eq!(key_from_title(Some("Élan"), 1), "lan");
        assert_eq!(key_from_title(Some("???"), 7), "q-007");
        assert_eq!(key_from_title(None, 12), "q-012");
        assert_eq!(
            key_from_title(Some(&"Abc ".repeat(40)), 1),
            "abc-".repeat(16).trim_end_matches('-')
        );
    }

    #[test]
    fn categories_use_the_last_segment() {
        assert_eq!(
            topic_from_category(" $course$/top/Sales/Pricing "),
            "Pricing"
        );
        assert_eq!(topic_from_category("a//b"), "a/b");
        assert_eq!(topic_from_category("a/"), "a");
        assert_eq!(topic_from_category(" "), "General");
    }

    #[test]
    fn true_false_variants() {
        let pack =
            parse("{TRUE####e}\n\nQ {F}\n\nQ {T#wrong}\n\nQ {FALSE##right####e}\n").unwrap_err();
        // The first has no prompt; the next two have no explanation, which is only a warning.
        assert_eq!(pack.len(), 1, "{pack:?}");
        let pack = parse("Q1 {TRUE####e}\n\nQ2 {F#wrong#right ####e}").unwrap();
        assert_eq!(
            pack.nuggets[0].options,
            [option("True", true, None), option("False", false, None)]
        );
        assert_eq!(
            pack.nuggets[1].options,
            [
                option("True", false, Some("wrong")),
                option("False", true, Some("right"))
            ]
        );
    }

    #[test]
    fn comment_tokens_are_read_with_escapes() {
        let tokens =
            comment_tokens("// [tag:a b] text [media:https://x.io/\\]] [id:ignored] [tag:c]");
        assert_eq!(
            tokens,
            [
                ("tag", "a b".to_string()),
                ("media", "https://x.io/]".to_string()),
                ("tag", "c".to_string())
            ]
        );
    }

    const BANK: &str = "$CATEGORY: $course$/top/Objection handling\n\n\
        ::m:: Match {=a -> 1 =b -> 2 =c -> 3}\n\n\
        ::ok:: Pick {=x ~y}\n\n\
        ::e:: Write about it {}\n";

    #[test]
    fn unsupported_questions_are_skipped_on_request_with_warnings() {
        let refused = parse(BANK).unwrap_err();
        assert_eq!(refused.len(), 2, "{refused:?}");

        let imported = parse_gift_with(BANK, &meta(), Some("bank.gift"), true).unwrap();
        assert_eq!(imported.pack.nuggets.len(), 1);
        assert_eq!(imported.pack.nuggets[0].key, "ok");
        assert_eq!(imported.pack.nuggets[0].topic, "Objection handling");
        assert_eq!(imported.pack.nuggets[0].explanation, "");
        let lines: Vec<String> = imported.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "bank.gift: warning: 2 questions skipped (1 matching, 1 essay): Reprise asks \
                 multiple choice and true/false",
                "bank.gift:3: warning: skipped: unsupported GIFT question type: matching",
                "bank.gift:5: warning: nuggets[0].explanation: no explanation: sellers will see \
                 the options' feedback and the correct answer instead",
                "bank.gift:7: warning: skipped: unsupported GIFT question type: essay",
            ]
        );
        assert!(imported.strict().is_err(), "a strict import refuses it");
        assert_eq!(first_category(BANK).as_deref(), Some("Objection handling"));
        assert_eq!(first_category("::q:: Q {=a ~b}"), None);
    }

    #[test]
    fn errors_do_not_hide_valid_questions_rule_violations() {
        let text = "::a:: Q {=x ~y}\n\n::Bad Key:: Q {=x ~x ####e}\n";
        let errors = parse(text).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "quiz.gift:3: nuggets[1].options[1].text: duplicate option text (same as options[0])",
            ]
        );
    }

    #[test]
    fn windows_files_read_like_unix_ones() {
        let unix = "// c\n::k:: Q {\n=a\n~b\n####e\n}\n";
        let windows = format!("\u{feff}{}", unix.replace('\n', "\r\n"));
        assert_eq!(parse(&windows).unwrap(), parse(unix).unwrap());
    }

    #[test]
    fn empty_file_has_no_nuggets() {
        let errors = parse("// nothing here\n\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "nuggets");
    }
}
