//! The shell's grammar: turns one command line into a [`Cmd`] tree. Pure: no system calls.
//!
//! ```text
//! line  := pipe '&'* (';' line?)?      (after '&' the ';' may be left out)
//! pipe  := unit ('|' unit)*
//! unit  := '(' line ')' redir*  |  (word | redir)*
//! redir := ('<' | '>' | '>>') word
//! ```
//! Words are runs of characters other than blanks and `< > | & ; ( )`; as an extension to
//! xv6's shell, text inside '...' or "..." is taken literally (quotes removed).

use alloc::boxed::Box;
use alloc::vec::Vec;

/// How a redirection opens its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `< file`: read-only, onto fd 0.
    Read,
    /// `> file`: create or truncate, onto fd 1.
    Truncate,
    /// `>> file`: create, write at the end, onto fd 1.
    Append,
}

/// One redirection: `fd` is replaced by `path` opened as `mode` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redir {
    pub fd: i32,
    pub path: Vec<u8>,
    pub mode: Mode,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// A program and its arguments (possibly none, when only redirections are given).
    Exec { argv: Vec<Vec<u8>>, redirs: Vec<Redir> },
    /// `( line )` with redirections applied to the whole group.
    Group { body: Box<Cmd>, redirs: Vec<Redir> },
    /// `a | b | ...`: two or more stages.
    Pipe(Vec<Cmd>),
    /// `a ; b`.
    List(Box<Cmd>, Box<Cmd>),
    /// `a &`.
    Back(Box<Cmd>),
}

/// Why a line could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxError {
    /// A redirection without a file name.
    MissingFile,
    /// `(` without `)`, or `)` without `(`.
    Unbalanced,
    /// A quote without its closing partner.
    OpenQuote,
    /// `|` without a command on one side, or `(` in the middle of a command.
    Misplaced,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(Vec<u8>),
    Less,
    Great,
    GreatGreat,
    Bar,
    Amp,
    Semi,
    Open,
    Close,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b)
}

fn is_symbol(c: u8) -> bool {
    matches!(c, b'<' | b'>' | b'|' | b'&' | b';' | b'(' | b')')
}

fn tokenize(line: &[u8]) -> Result<Vec<Token>, SyntaxError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        let c = line[i];
        if is_blank(c) {
            i += 1;
            continue;
        }
        let tok = match c {
            b'<' => Token::Less,
            b'>' if line.get(i + 1) == Some(&b'>') => {
                i += 1;
                Token::GreatGreat
            }
            b'>' => Token::Great,
            b'|' => Token::Bar,
            b'&' => Token::Amp,
            b';' => Token::Semi,
            b'(' => Token::Open,
            b')' => Token::Close,
            _ => {
                let mut word = Vec::new();
                while i < line.len() && !is_blank(line[i]) && !is_symbol(line[i]) {
                    let q = line[i];
                    if q == b'\'' || q == b'"' {
                        let len = line[i + 1..].iter().position(|&x| x == q);
                        let len = len.ok_or(SyntaxError::OpenQuote)?;
                        word.extend_from_slice(&line[i + 1..i + 1 + len]);
                        i += len + 2;
                    } else {
                        word.push(q);
                        i += 1;
                    }
                }
                out.push(Token::Word(word));
                continue;
            }
        };
        out.push(tok);
        i += 1;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn line(&mut self) -> Result<Cmd, SyntaxError> {
        let mut cmd = self.pipe()?;
        let mut background = false;
        while self.eat(&Token::Amp) {
            cmd = Cmd::Back(Box::new(cmd));
            background = true;
        }
        // `a & b` runs both, as `a &; b` does.
        let separated = self.eat(&Token::Semi) || background;
        if separated && !matches!(self.peek(), None | Some(Token::Close)) {
            let rest = self.line()?;
            cmd = Cmd::List(Box::new(cmd), Box::new(rest));
        }
        Ok(cmd)
    }

    fn pipe(&mut self) -> Result<Cmd, SyntaxError> {
        let mut stages = Vec::new();
        stages.push(self.unit()?);
        while self.eat(&Token::Bar) {
            stages.push(self.unit()?);
        }
        if stages.len() == 1 {
            return Ok(stages.pop().expect("one stage"));
        }
        if stages.iter().any(Cmd::is_empty) {
            return Err(SyntaxError::Misplaced);
        }
        Ok(Cmd::Pipe(stages))
    }

    fn unit(&mut self) -> Result<Cmd, SyntaxError> {
        if self.eat(&Token::Open) {
            let body = self.line()?;
            if !self.eat(&Token::Close) {
                return Err(SyntaxError::Unbalanced);
            }
            let mut redirs = Vec::new();
            while self.redir(&mut redirs)? {}
            return Ok(Cmd::Group { body: Box::new(body), redirs });
        }
        let mut argv = Vec::new();
        let mut redirs = Vec::new();
        loop {
            if self.redir(&mut redirs)? {
                continue;
            }
            match self.peek() {
                Some(Token::Word(w)) => {
                    argv.push(w.clone());
                    self.pos += 1;
                }
                Some(Token::Open) => return Err(SyntaxError::Misplaced),
                _ => break,
            }
        }
        Ok(Cmd::Exec { argv, redirs })
    }

    /// Parses one redirection if the next token starts one.
    fn redir(&mut self, redirs: &mut Vec<Redir>) -> Result<bool, SyntaxError> {
        let (fd, mode) = match self.peek() {
            Some(Token::Less) => (0, Mode::Read),
            Some(Token::Great) => (1, Mode::Truncate),
            Some(Token::GreatGreat) => (1, Mode::Append),
            _ => return Ok(false),
        };
        self.pos += 1;
        match self.peek() {
            Some(Token::Word(w)) => {
                redirs.push(Redir { fd, path: w.clone(), mode });
                self.pos += 1;
                Ok(true)
            }
            _ => Err(SyntaxError::MissingFile),
        }
    }
}

impl Cmd {
    /// True for a command with neither program nor redirection (an empty line).
    pub fn is_empty(&self) -> bool {
        matches!(self, Cmd::Exec { argv, redirs } if argv.is_empty() && redirs.is_empty())
    }
}

/// Parses one command line.
pub fn parse(line: &[u8]) -> Result<Cmd, SyntaxError> {
    let mut p = Parser { toks: tokenize(line)?, pos: 0 };
    let cmd = p.line()?;
    if p.pos != p.toks.len() {
        return Err(if p.peek() == Some(&Token::Close) {
            SyntaxError::Unbalanced
        } else {
            SyntaxError::Misplaced
        });
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn exec(words: &[&str]) -> Cmd {
        Cmd::Exec { argv: words.iter().map(|w| w.as_bytes().to_vec()).collect(), redirs: vec![] }
    }

    #[test]
    fn words_pipes_lists() {
        assert_eq!(parse(b"echo a  b\n").unwrap(), exec(&["echo", "a", "b"]));
        assert_eq!(parse(b"a|b | c").unwrap(), Cmd::Pipe(vec![exec(&["a"]), exec(&["b"]), exec(&["c"])]));
        assert_eq!(
            parse(b"a; b&").unwrap(),
            Cmd::List(Box::new(exec(&["a"])), Box::new(Cmd::Back(Box::new(exec(&["b"])))))
        );
        assert_eq!(parse(b"a;").unwrap(), exec(&["a"]));
        assert_eq!(
            parse(b"a & b").unwrap(),
            Cmd::List(Box::new(Cmd::Back(Box::new(exec(&["a"])))), Box::new(exec(&["b"])))
        );
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn redirections_groups_quotes() {
        let c = parse(b"cat <in >>out x").unwrap();
        let Cmd::Exec { argv, redirs } = c else { panic!() };
        assert_eq!(argv, vec![b"cat".to_vec(), b"x".to_vec()]);
        assert_eq!(redirs[0], Redir { fd: 0, path: b"in".to_vec(), mode: Mode::Read });
        assert_eq!(redirs[1].mode, Mode::Append);
        assert!(matches!(parse(b"(a; b) > f").unwrap(), Cmd::Group { .. }));
        assert_eq!(parse(b"echo 'a b'\"c\"").unwrap(), exec(&["echo", "a bc"]));
        assert_eq!(parse(b"echo >"), Err(SyntaxError::MissingFile));
        assert_eq!(parse(b"(a"), Err(SyntaxError::Unbalanced));
        assert_eq!(parse(b"a)"), Err(SyntaxError::Unbalanced));
        assert_eq!(parse(b"a | | b"), Err(SyntaxError::Misplaced));
        assert_eq!(parse(b"echo 'x"), Err(SyntaxError::OpenQuote));
    }
}
