//! The line discipline (Linux's n_tty) as pure data: termios, the input
//! queue the replica reads (canonical line editing or raw bytes), echo, and
//! output processing into the queue the master reads. No locking, blocking
//! or signals here: [`Ldisc::receive`] reports which signal a character
//! raises and the caller sends it.

use std::collections::VecDeque;
use syscalls::structs::KernelTermios;

/// Bytes of input the discipline holds (`N_TTY_BUF_SIZE`).
pub const INPUT_MAX: usize = 4096;
/// Bytes of output waiting for the master before replica writes block.
pub const OUTPUT_MAX: usize = 65536;

// termios flag bits (asm-generic/termbits.h), as u32 for KernelTermios.
const IGNCR: u32 = libc::IGNCR;
const ICRNL: u32 = libc::ICRNL;
const INLCR: u32 = libc::INLCR;
const ISTRIP: u32 = libc::ISTRIP;
const IXON: u32 = libc::IXON;
const OPOST: u32 = libc::OPOST;
const ONLCR: u32 = libc::ONLCR;
const OCRNL: u32 = libc::OCRNL;
const ONOCR: u32 = libc::ONOCR;
const ONLRET: u32 = libc::ONLRET;
const ISIG: u32 = libc::ISIG;
const ICANON: u32 = libc::ICANON;
const ECHO: u32 = libc::ECHO;
const ECHOE: u32 = libc::ECHOE;
const ECHOK: u32 = libc::ECHOK;
const ECHONL: u32 = libc::ECHONL;
const NOFLSH: u32 = libc::NOFLSH;
const ECHOCTL: u32 = libc::ECHOCTL;
const ECHOKE: u32 = libc::ECHOKE;
const IEXTEN: u32 = libc::IEXTEN;

/// The termios a new pseudo-terminal starts with (Linux's
/// `tty_std_termios`: cooked, echoing, ^C/^\/^Z signals, CR to NL on input,
/// NL to CR-NL on output).
pub fn default_termios() -> KernelTermios {
    let mut cc = [0u8; 19];
    let init: [u8; 17] = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    cc[..17].copy_from_slice(&init);
    KernelTermios {
        c_iflag: ICRNL | IXON,
        c_oflag: OPOST | ONLCR,
        c_cflag: libc::B38400 | libc::CS8 | libc::CREAD | libc::HUPCL,
        c_lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        c_line: 0,
        c_cc: cc,
    }
}

/// What a received character asks the caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing beyond the queues.
    None,
    /// Send this signal to the foreground process group.
    Signal(i32),
}

/// A terminal's line discipline state.
pub struct Ldisc {
    /// The terminal modes.
    pub termios: KernelTermios,
    /// Bytes the replica may read: completed lines in canonical mode,
    /// everything received in raw mode.
    ready: VecDeque<u8>,
    /// Canonical mode: the lengths of the completed lines in `ready` (0 for
    /// an end-of-file at the start of a line).
    lines: VecDeque<usize>,
    /// Canonical mode: the line being edited.
    edit: Vec<u8>,
    /// Output the master reads.
    output: VecDeque<u8>,
    /// Output column, for ONOCR.
    column: usize,
    /// The next character is literal (VLNEXT was typed).
    lnext: bool,
    /// Output stopped by VSTOP (IXON) or TCOOFF.
    pub stopped: bool,
}

impl Default for Ldisc {
    fn default() -> Self {
        Ldisc::new()
    }
}

impl Ldisc {
    /// A discipline with [`default_termios`] and empty queues.
    pub fn new() -> Ldisc {
        Ldisc {
            termios: default_termios(),
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            edit: Vec::new(),
            output: VecDeque::new(),
            column: 0,
            lnext: false,
            stopped: false,
        }
    }

    fn lflag(&self, f: u32) -> bool {
        self.termios.c_lflag & f != 0
    }

    fn iflag(&self, f: u32) -> bool {
        self.termios.c_iflag & f != 0
    }

    fn cc(&self, i: usize) -> u8 {
        self.termios.c_cc.get(i).copied().unwrap_or(0)
    }

    /// Whether `c` is the (enabled) special character at `c_cc[i]`.
    fn is_cc(&self, c: u8, i: usize) -> bool {
        let v = self.cc(i);
        v != 0 && v == c
    }

    /// Canonical (line-editing) mode is on.
    pub fn canonical(&self) -> bool {
        self.lflag(ICANON)
    }

    /// `c_cc[VMIN]` and `c_cc[VTIME]`.
    pub fn min_time(&self) -> (u8, u8) {
        (self.cc(libc::VMIN), self.cc(libc::VTIME))
    }

    /// Bytes a read could return now (FIONREAD): completed lines in
    /// canonical mode, everything in raw mode.
    pub fn readable(&self) -> usize {
        self.ready.len()
    }

    /// Whether a canonical read would return now (a line or an EOF is there).
    pub fn line_ready(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Input bytes held in total, edited line included.
    pub fn input_len(&self) -> usize {
        self.ready.len() + self.edit.len()
    }

    /// Room for more input before the master's writes must wait. A
    /// canonical terminal with no completed line always takes input (a full
    /// line still accepts its terminator), as Linux does.
    pub fn input_room(&self) -> usize {
        let room = (INPUT_MAX - 1).saturating_sub(self.input_len());
        if room == 0 && self.canonical() && self.lines.is_empty() {
            return 1;
        }
        room
    }

    /// Output bytes waiting for the master (TIOCOUTQ).
    pub fn output_len(&self) -> usize {
        self.output.len()
    }

    /// Room in the output queue.
    pub fn output_room(&self) -> usize {
        OUTPUT_MAX.saturating_sub(self.output.len())
    }

    /// Whether the master may read now.
    pub fn output_ready(&self) -> bool {
        !self.output.is_empty() && !self.stopped
    }

    /// Drops unread input (TCIFLUSH, signal characters).
    pub fn flush_input(&mut self) {
        self.ready.clear();
        self.lines.clear();
        self.edit.clear();
        self.lnext = false;
    }

    /// Drops output the master has not read (TCOFLUSH).
    pub fn flush_output(&mut self) {
        self.output.clear();
    }

    /// Replaces the modes. Leaving canonical mode makes the edited line
    /// readable; entering it turns what is pending into one completed line.
    pub fn set_termios(&mut self, t: KernelTermios) {
        let was = self.canonical();
        self.termios = t;
        let now = self.canonical();
        if was && !now {
            let edit = std::mem::take(&mut self.edit);
            self.ready.extend(edit);
            self.lines.clear();
        } else if !was && now {
            self.lines.clear();
            if !self.ready.is_empty() {
                self.lines.push_back(self.ready.len());
            }
        }
        if !self.iflag(IXON) {
            self.stopped = false;
        }
    }

    /// Reads up to `buf.len()` bytes for the replica: at most one line in
    /// canonical mode (0 at an end-of-file), else what is there.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        if self.canonical() {
            let Some(len) = self.lines.front_mut() else { return 0 };
            let n = (*len).min(buf.len());
            for (dst, src) in buf.iter_mut().zip(self.ready.drain(..n)) {
                *dst = src;
            }
            *len -= n;
            if *len == 0 {
                self.lines.pop_front();
            }
            n
        } else {
            let n = self.ready.len().min(buf.len());
            for (dst, src) in buf.iter_mut().zip(self.ready.drain(..n)) {
                *dst = src;
            }
            n
        }
    }

    /// Reads up to `buf.len()` bytes of output for the master.
    pub fn read_output(&mut self, buf: &mut [u8]) -> usize {
        if self.stopped {
            return 0;
        }
        let n = self.output.len().min(buf.len());
        for (dst, src) in buf.iter_mut().zip(self.output.drain(..n)) {
            *dst = src;
        }
        n
    }

    /// Writes replica output through output processing (OPOST, ONLCR,
    /// OCRNL, ONOCR, ONLRET).
    pub fn write_output(&mut self, data: &[u8]) {
        for &c in data {
            self.output_char(c);
        }
    }

    fn output_char(&mut self, c: u8) {
        let o = self.termios.c_oflag;
        if o & OPOST == 0 {
            self.output.push_back(c);
            return;
        }
        match c {
            b'\n' => {
                if o & ONLCR != 0 {
                    self.output.push_back(b'\r');
                    self.column = 0;
                }
                if o & ONLRET != 0 {
                    self.column = 0;
                }
                self.output.push_back(b'\n');
            }
            b'\r' => {
                if o & ONOCR != 0 && self.column == 0 {
                    return;
                }
                if o & OCRNL != 0 {
                    if o & ONLRET != 0 {
                        self.column = 0;
                    }
                    self.output.push_back(b'\n');
                } else {
                    self.column = 0;
                    self.output.push_back(b'\r');
                }
            }
            b'\x08' => {
                self.column = self.column.saturating_sub(1);
                self.output.push_back(c);
            }
            b'\t' => {
                self.column = (self.column | 7) + 1;
                self.output.push_back(c);
            }
            _ => {
                if !c.is_ascii_control() {
                    self.column += 1;
                }
                self.output.push_back(c);
            }
        }
    }

    /// Echoes `c` as typed: `^X` for control characters with ECHOCTL.
    fn echo_char(&mut self, c: u8) {
        if self.lflag(ECHOCTL) && c.is_ascii_control() && c != b'\t' && c != b'\n' {
            self.output_char(b'^');
            self.output_char(c ^ 0o100);
        } else {
            self.output_char(c);
        }
    }

    /// Echoes the erasure of one edited character.
    fn echo_erase(&mut self, c: u8) {
        let cols = if c.is_ascii_control() && c != b'\t' {
            if self.lflag(ECHOCTL) {
                2
            } else {
                0
            }
        } else {
            1
        };
        for _ in 0..cols {
            self.output.extend(b"\x08 \x08");
            self.column = self.column.saturating_sub(1);
        }
        if c == b'\t' {
            self.output.push_back(b'\x08');
        }
    }

    /// VERASE (`word` false) or VWERASE (`word` true) in canonical mode.
    fn erase(&mut self, c: u8, word: bool) {
        let echo = self.lflag(ECHO);
        let mut seen_word = false;
        while let Some(&last) = self.edit.last() {
            if word {
                let in_word = last.is_ascii_alphanumeric() || last == b'_';
                if in_word {
                    seen_word = true;
                } else if seen_word {
                    break;
                }
            }
            self.edit.pop();
            if echo {
                if !word && !self.lflag(ECHOE) {
                    self.echo_char(c);
                } else {
                    self.echo_erase(last);
                }
            }
            if !word {
                break;
            }
        }
    }

    /// VKILL in canonical mode.
    fn kill_line(&mut self, c: u8) {
        if !self.lflag(ECHO) {
            self.edit.clear();
            return;
        }
        if !(self.lflag(ECHOK) && self.lflag(ECHOKE) && self.lflag(ECHOE)) {
            self.edit.clear();
            self.echo_char(c);
            if self.lflag(ECHOK) {
                self.output_char(b'\n');
            }
            return;
        }
        while let Some(last) = self.edit.pop() {
            self.echo_erase(last);
        }
    }

    /// Completes the edited line (`delim` is kept in the data unless it is
    /// the EOF character).
    fn finish_line(&mut self, delim: Option<u8>) {
        let mut line = std::mem::take(&mut self.edit);
        if let Some(d) = delim {
            line.push(d);
        }
        self.lines.push_back(line.len());
        self.ready.extend(line);
    }

    /// Processes one character written by the master (input processing,
    /// signals, line editing, echo).
    pub fn receive(&mut self, c: u8) -> Effect {
        let mut c = c;
        if self.iflag(ISTRIP) {
            c &= 0x7f;
        }
        if self.lnext {
            self.lnext = false;
            self.put_regular(c);
            return Effect::None;
        }
        if c == b'\r' {
            if self.iflag(IGNCR) {
                return Effect::None;
            }
            if self.iflag(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && self.iflag(INLCR) {
            c = b'\r';
        }
        if self.iflag(IXON) {
            if self.is_cc(c, libc::VSTOP) {
                self.stopped = true;
                return Effect::None;
            }
            if self.is_cc(c, libc::VSTART) {
                self.stopped = false;
                return Effect::None;
            }
        }
        if self.lflag(ISIG) {
            let sig = if self.is_cc(c, libc::VINTR) {
                Some(libc::SIGINT)
            } else if self.is_cc(c, libc::VQUIT) {
                Some(libc::SIGQUIT)
            } else if self.is_cc(c, libc::VSUSP) {
                Some(libc::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                if !self.lflag(NOFLSH) {
                    self.flush_input();
                    self.flush_output();
                }
                if self.iflag(IXON) {
                    self.stopped = false;
                }
                if self.lflag(ECHO) {
                    self.echo_char(c);
                }
                return Effect::Signal(sig);
            }
        }
        if self.canonical() {
            let iexten = self.lflag(IEXTEN);
            if self.is_cc(c, libc::VERASE) {
                self.erase(c, false);
                return Effect::None;
            }
            if iexten && self.is_cc(c, libc::VWERASE) {
                self.erase(c, true);
                return Effect::None;
            }
            if self.is_cc(c, libc::VKILL) {
                self.kill_line(c);
                return Effect::None;
            }
            if iexten && self.is_cc(c, libc::VLNEXT) {
                self.lnext = true;
                if self.lflag(ECHO) && self.lflag(ECHOCTL) {
                    self.output.extend(b"^\x08");
                }
                return Effect::None;
            }
            if c == b'\n' {
                if self.lflag(ECHO) || self.lflag(ECHONL) {
                    self.output_char(b'\n');
                }
                self.finish_line(Some(c));
                return Effect::None;
            }
            if self.is_cc(c, libc::VEOF) {
                self.finish_line(None);
                return Effect::None;
            }
            if self.is_cc(c, libc::VEOL) || (iexten && self.is_cc(c, libc::VEOL2)) {
                if self.lflag(ECHO) {
                    self.echo_char(c);
                }
                self.finish_line(Some(c));
                return Effect::None;
            }
        }
        self.put_regular(c);
        Effect::None
    }

    /// Queues an ordinary character (dropped when the input is full).
    fn put_regular(&mut self, c: u8) {
        if self.input_len() >= INPUT_MAX - 1 {
            return;
        }
        if self.lflag(ECHO) {
            if c == b'\n' {
                self.output_char(b'\n');
            } else {
                self.echo_char(c);
            }
        }
        if self.canonical() {
            self.edit.push(c);
        } else {
            self.ready.push_back(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(l: &mut Ldisc, s: &[u8]) -> Vec<Effect> {
        s.iter().map(|&c| l.receive(c)).filter(|e| *e != Effect::None).collect()
    }

    fn out(l: &mut Ldisc) -> Vec<u8> {
        let mut b = vec![0; 8192];
        let n = l.read_output(&mut b);
        b.truncate(n);
        b
    }

    fn input(l: &mut Ldisc) -> Vec<u8> {
        let mut b = vec![0; 8192];
        let n = l.read(&mut b);
        b.truncate(n);
        b
    }

    #[test]
    fn canonical_editing_and_echo_match_linux() {
        let mut l = Ldisc::new();
        feed(&mut l, b"ab\x7fc\n");
        // Same bytes Linux echoes for "ab<DEL>c\n".
        assert_eq!(out(&mut l), b"ab\x08 \x08c\r\n");
        assert_eq!(input(&mut l), b"ac\n");
        feed(&mut l, b"y\x15z\x17w\r");
        assert_eq!(out(&mut l), b"y\x08 \x08z\x08 \x08w\r\n");
        assert_eq!(input(&mut l), b"w\n");
        feed(&mut l, b"foo bar\x17baz\n");
        assert_eq!(input(&mut l), b"foo baz\n");
    }

    #[test]
    fn lines_and_eof_are_delivered_one_at_a_time() {
        let mut l = Ldisc::new();
        feed(&mut l, b"one\ntwo\x04\x04");
        assert!(l.line_ready());
        assert_eq!(l.readable(), 7);
        let mut small = [0u8; 2];
        assert_eq!(l.read(&mut small), 2);
        assert_eq!(&small, b"on");
        assert_eq!(input(&mut l), b"e\n");
        assert_eq!(input(&mut l), b"two");
        assert!(l.line_ready());
        assert_eq!(input(&mut l), b"");
        assert!(!l.line_ready());
    }

    #[test]
    fn signal_characters_flush_and_echo() {
        let mut l = Ldisc::new();
        assert_eq!(feed(&mut l, b"x\x03"), vec![Effect::Signal(libc::SIGINT)]);
        assert_eq!(out(&mut l), b"^C");
        assert_eq!(l.input_len(), 0);
        let mut t = l.termios;
        t.c_lflag |= NOFLSH;
        l.set_termios(t);
        assert_eq!(
            feed(&mut l, b"q\x1c\x1a"),
            vec![Effect::Signal(libc::SIGQUIT), Effect::Signal(libc::SIGTSTP)]
        );
        assert_eq!(out(&mut l), b"q^\\^Z");
        assert_eq!(l.input_len(), 1);
    }

    #[test]
    fn raw_mode_and_mode_switches() {
        let mut l = Ldisc::new();
        feed(&mut l, b"par");
        let mut t = l.termios;
        t.c_lflag &= !(ICANON | ECHO | ISIG);
        t.c_iflag &= !ICRNL;
        l.set_termios(t);
        assert_eq!(l.readable(), 3);
        feed(&mut l, b"\r\x03");
        assert_eq!(input(&mut l), b"par\r\x03");
        feed(&mut l, b"xy");
        l.set_termios(default_termios());
        assert!(l.line_ready());
        assert_eq!(input(&mut l), b"xy");
    }

    #[test]
    fn input_translation_and_output_processing() {
        let mut l = Ldisc::new();
        let mut t = l.termios;
        t.c_iflag = IGNCR;
        t.c_lflag &= !ECHO;
        l.set_termios(t);
        feed(&mut l, b"a\rb\n");
        assert_eq!(input(&mut l), b"ab\n");
        t.c_iflag = INLCR;
        t.c_lflag &= !ICANON;
        l.set_termios(t);
        feed(&mut l, b"\n");
        assert_eq!(input(&mut l), b"\r");
        l.write_output(b"hi\n");
        assert_eq!(out(&mut l), b"hi\r\n");
        t.c_oflag = 0;
        l.set_termios(t);
        l.write_output(b"hi\n");
        assert_eq!(out(&mut l), b"hi\n");
        t.c_oflag = OPOST | OCRNL;
        l.set_termios(t);
        l.write_output(b"a\r");
        assert_eq!(out(&mut l), b"a\n");
    }

    #[test]
    fn echo_variants() {
        let mut l = Ldisc::new();
        let mut t = l.termios;
        t.c_lflag = ICANON | ECHONL;
        l.set_termios(t);
        feed(&mut l, b"secret\n");
        assert_eq!(out(&mut l), b"\r\n");
        t.c_lflag = ICANON | ECHO | ECHOK;
        l.set_termios(t);
        feed(&mut l, b"ab\x7f\x15\x7f");
        // No ECHOE: the erase and kill characters are echoed as such; an
        // erase on an empty line echoes nothing.
        assert_eq!(out(&mut l), b"ab\x7f\x15\r\n");
        t.c_lflag = ICANON | ECHO | ECHOCTL;
        l.set_termios(t);
        feed(&mut l, b"\x01");
        assert_eq!(out(&mut l), b"^A");
    }

    #[test]
    fn full_canonical_line_still_takes_its_newline() {
        let mut l = Ldisc::new();
        let mut t = l.termios;
        t.c_lflag &= !ECHO;
        l.set_termios(t);
        for _ in 0..5000 {
            l.receive(b'a');
        }
        assert_eq!(l.input_len(), INPUT_MAX - 1);
        assert_eq!(l.input_room(), 1);
        l.receive(b'\n');
        assert!(l.line_ready());
        assert_eq!(l.input_room(), 0);
    }

    #[test]
    fn ixon_stops_output() {
        let mut l = Ldisc::new();
        l.receive(0x13);
        l.write_output(b"x");
        assert!(!l.output_ready());
        l.receive(0x11);
        assert_eq!(out(&mut l), b"x");
    }
}
