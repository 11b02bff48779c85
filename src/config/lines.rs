//! [`Lines`]: byte offsets in configuration text to 1-based lines and
//! columns, in time independent of the text's length.

use super::error::Position;

/// Bytes between two character-count marks: a column is never found by
/// counting more than about this many bytes, however long its line.
const MARK_EVERY: usize = 256;

/// An index of one text's lines, built in one pass, answering
/// [`position`](Lines::position) with a binary search and a count of at
/// most [`MARK_EVERY`] bytes — so placing every key and value of a 1 MiB
/// file stays linear in its size.
///
/// Columns count characters, not bytes; a leading byte order mark is not
/// counted.
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    /// The byte offset where each line starts; the first line starts
    /// after the byte order mark, if there is one.
    starts: Vec<usize>,
    /// `(offset, characters before offset)` at char boundaries about
    /// every [`MARK_EVERY`] bytes, starting with `(0, 0)`.
    marks: Vec<(usize, usize)>,
}

impl<'a> Lines<'a> {
    /// Indexes `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        let first = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let starts = std::iter::once(first)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|&(_, b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let mut marks = vec![(0, 0)];
        let (mut offset, mut chars) = (0, 0);
        while offset + MARK_EVERY < text.len() {
            let mut next = offset + MARK_EVERY;
            while !text.is_char_boundary(next) {
                next += 1;
            }
            chars += text[offset..next].chars().count();
            offset = next;
            marks.push((offset, chars));
        }
        Lines {
            text,
            starts,
            marks,
        }
    }

    /// The line and column of byte `offset`, clamped to the text's end and
    /// moved back to a character boundary.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // `starts[0]` is at most 3 (a byte order mark), so an offset inside
        // the mark counts as line 1.
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1].min(offset);
        let width = if offset - start <= MARK_EVERY {
            self.text[start..offset].chars().count()
        } else {
            self.chars_before(offset) - self.chars_before(start)
        };
        Position {
            line,
            column: width + 1,
        }
    }

    /// The position just past the text's last character.
    pub(crate) fn end(&self) -> Position {
        self.position(self.text.len())
    }

    /// Characters in the text before byte `offset` (a char boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let i = self.marks.partition_point(|&(at, _)| at <= offset) - 1;
        let (at, chars) = self.marks[i];
        chars + self.text[at..offset].chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of `offset` by counting from the start, as the index
    /// must answer.
    fn counted(text: &str, offset: usize) -> Position {
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let bom = usize::from(line_start == 0 && text.starts_with('\u{feff}'));
        Position {
            line: before.matches('\n').count() + 1,
            column: (before[line_start..].chars().count() + 1)
                .saturating_sub(bom)
                .max(1),
        }
    }

    #[test]
    fn every_offset_gets_the_line_and_column_counting_would() {
        let long_line = "é".repeat(3 * MARK_EVERY);
        for text in [
            String::new(),
            "a".to_owned(),
            "\n\n".to_owned(),
            "key: värde\nnästa: 1\n".to_owned(),
            format!("a = \"{long_line}\"\nb = 1\n{long_line}"),
            "\u{feff}bulkhead = 5\nx = 1".to_owned(),
            format!("\u{feff}{long_line}"),
        ] {
            let lines = Lines::new(&text);
            for offset in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                assert_eq!(
                    lines.position(offset),
                    counted(&text, offset),
                    "{offset} in {text:?}"
                );
            }
            assert_eq!(lines.end(), counted(&text, text.len()));
        }
    }

    #[test]
    fn an_offset_inside_a_character_or_past_the_end_is_moved_back() {
        let lines = Lines::new("aé\nb");
        assert_eq!(lines.position(2), Position { line: 1, column: 2 });
        assert_eq!(lines.position(99), Position { line: 2, column: 2 });
    }

    #[test]
    fn a_byte_order_mark_takes_no_column() {
        let lines = Lines::new("\u{feff}bulkhead = 5\n");
        assert_eq!(lines.position(0), Position { line: 1, column: 1 });
        assert_eq!(lines.position(3), Position { line: 1, column: 1 });
        assert_eq!(
            lines.position(14),
            Position {
                line: 1,
                column: 12
            }
        );
    }
}
