//! `#!` interpreter scripts, with the exact line parsing of Linux's
//! fs/binfmt_script.c (one optional argument, never split; 256-byte buffer).

use syscalls::Errno;

/// Bytes of the file Linux looks at (`BINPRM_BUF_SIZE`).
pub const BINPRM_BUF_SIZE: usize = 256;

/// A parsed `#!` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shebang {
    /// The interpreter path.
    pub interpreter: Vec<u8>,
    /// The single optional argument (everything after the interpreter).
    pub arg: Option<Vec<u8>>,
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// First index in `first..=last` that is not a space/tab.
fn next_non_spacetab(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| !spacetab(buf[i]))
}

/// First index in `first..=last` holding a space, tab or NUL.
fn next_terminator(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| spacetab(buf[i]) || buf[i] == 0)
}

/// The C string starting at `from`, ending at the first NUL or at `end`.
fn cstr(buf: &[u8], from: usize, end: usize) -> Vec<u8> {
    let s = &buf[from..end];
    let n = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    s[..n].to_vec()
}

/// Parses the start of a file as a `#!` script.
///
/// `None` if the file does not start with `#!` (not a script: try other
/// formats); `Some(Err(ENOEXEC))` for a script line with no interpreter or
/// an interpreter name cut by the 256-byte limit.
pub fn parse_shebang(first_bytes: &[u8]) -> Option<Result<Shebang, Errno>> {
    if !first_bytes.starts_with(b"#!") {
        return None;
    }
    // The kernel's buffer is zero-filled past the end of a short file.
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = first_bytes.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&first_bytes[..n]);
    Some(parse_buf(&buf))
}

fn parse_buf(buf: &[u8; BINPRM_BUF_SIZE]) -> Result<Shebang, Errno> {
    let buf_end = BINPRM_BUF_SIZE - 1;
    // strnchr: the search for '\n' stops at a NUL.
    let newline = buf.iter().take_while(|&&b| b != 0).position(|&b| b == b'\n');
    let mut i_end = match newline {
        Some(i) => i,
        None => {
            let first = next_non_spacetab(buf, 2, buf_end).ok_or(Errno::ENOEXEC)?;
            // No later space/tab/NUL: the interpreter path is truncated.
            next_terminator(buf, first, buf_end).ok_or(Errno::ENOEXEC)?;
            buf_end
        }
    };
    // Trim trailing spaces/tabs; buf[1] is '!' so this stops by index 2.
    while spacetab(buf[i_end - 1]) {
        i_end -= 1;
    }
    let i_name = match next_non_spacetab(buf, 2, i_end) {
        Some(i) if i != i_end => i,
        _ => return Err(Errno::ENOEXEC),
    };
    let i_sep = next_terminator(buf, i_name, i_end);
    let interp_end = i_sep.unwrap_or(i_end);
    let interpreter = cstr(buf, i_name, interp_end);
    let arg = match i_sep {
        Some(sep) if buf[sep] != 0 => next_non_spacetab(buf, sep, i_end).and_then(|a| {
            let s = cstr(buf, a, i_end);
            (!s.is_empty()).then_some(s)
        }),
        _ => None,
    };
    if interpreter.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    Ok(Shebang { interpreter, arg })
}

/// The argv of the interpreter: `[interp, arg?, script_path, argv[1..]...]`.
pub fn script_argv(sb: &Shebang, script_path: &[u8], original_argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v = Vec::with_capacity(original_argv.len() + 2);
    v.push(sb.interpreter.clone());
    if let Some(arg) = &sb.arg {
        v.push(arg.clone());
    }
    v.push(script_path.to_vec());
    v.extend(original_argv.iter().skip(1).cloned());
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(s: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
        let sb = parse_shebang(s).unwrap().unwrap();
        (sb.interpreter, sb.arg)
    }

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn not_a_script() {
        assert_eq!(parse_shebang(b"\x7fELF"), None);
        assert_eq!(parse_shebang(b"#"), None);
        assert_eq!(parse_shebang(b""), None);
        assert_eq!(parse_shebang(b" #!/bin/sh"), None);
    }

    #[test]
    fn basic_lines() {
        assert_eq!(ok(b"#!/bin/sh\necho hi\n"), (v("/bin/sh"), None));
        assert_eq!(ok(b"#! /bin/sh\n"), (v("/bin/sh"), None));
        assert_eq!(
            ok(b"#!\t /usr/bin/env   python3 -u  \t\nx"),
            (v("/usr/bin/env"), Some(v("python3 -u")))
        );
        assert_eq!(ok(b"#!/bin/sh -x\n"), (v("/bin/sh"), Some(v("-x"))));
        assert_eq!(ok(b"#!/bin/sh   \n"), (v("/bin/sh"), None));
        assert_eq!(ok(b"#!/bin/sh"), (v("/bin/sh"), None));
        assert_eq!(ok(b"#!/bin/awk -f"), (v("/bin/awk"), Some(v("-f"))));
    }

    #[test]
    fn no_interpreter() {
        for s in [&b"#!\n"[..], b"#!", b"#!   \n", b"#! \t", b"#!\0/bin/sh\n"] {
            assert_eq!(parse_shebang(s), Some(Err(Errno::ENOEXEC)), "{s:?}");
        }
    }

    #[test]
    fn long_lines() {
        // Interpreter cut by the 256-byte limit: ENOEXEC.
        let mut long = b"#!/".to_vec();
        long.resize(400, b'a');
        assert_eq!(parse_shebang(&long), Some(Err(Errno::ENOEXEC)));
        // Interpreter complete, argument truncated: accepted, argument cut
        // to what fits (buffer minus its last byte).
        let mut s = b"#!/bin/sh ".to_vec();
        s.resize(400, b'b');
        let (i, a) = ok(&s);
        assert_eq!(i, v("/bin/sh"));
        assert_eq!(a.unwrap().len(), 255 - 10);
        // Newline exactly at the last byte of the buffer is seen.
        let mut s = b"#!/bin/".to_vec();
        s.resize(255, b'x');
        s.push(b'\n');
        let (i, a) = ok(&s);
        assert_eq!(i.len(), 253);
        assert_eq!(a, None);
    }

    #[test]
    fn argv_rewrite() {
        let sb = Shebang {
            interpreter: v("/bin/sh"),
            arg: Some(v("-e")),
        };
        let argv = vec![v("./s"), v("a"), v("b")];
        assert_eq!(
            script_argv(&sb, b"/x/s", &argv),
            vec![v("/bin/sh"), v("-e"), v("/x/s"), v("a"), v("b")]
        );
        let sb = Shebang {
            interpreter: v("/bin/sh"),
            arg: None,
        };
        assert_eq!(script_argv(&sb, b"/x/s", &[]), vec![v("/bin/sh"), v("/x/s")]);
    }

    #[test]
    fn never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for len in 0..3000usize {
            let mut s = b"#!".to_vec();
            for _ in 0..(len % 300) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push([b' ', b'\t', b'\n', 0, b'a', b'/'][(x % 6) as usize]);
            }
            if let Some(Ok(sb)) = parse_shebang(&s) {
                assert!(!sb.interpreter.is_empty());
                assert!(!sb.interpreter.iter().any(|&c| c == b' ' || c == b'\t' || c == 0));
            }
        }
    }
}
