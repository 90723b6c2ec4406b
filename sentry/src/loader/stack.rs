//! The initial process stack, laid out as Linux's `create_elf_tables`
//! (fs/binfmt_elf.c) and `copy_strings` (fs/exec.c) do, so that libc start
//! code and `/proc/pid/{cmdline,environ,auxv}` see what they expect.
//!
//! From high to low addresses: 8 zero bytes, the execfn string, the envp
//! strings, the argv strings (`arg_start` .. `env_end`), alignment, the
//! platform string, the 16 `AT_RANDOM` bytes, alignment padding, auxv,
//! envp pointers + NULL, argv pointers + NULL, argc (at `sp`, 16-aligned).

use syscalls::Errno;

/// Longest single argument or environment string, NUL included (32 pages).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Room for strings and pointers: a quarter of the default 8 MiB stack rlimit.
pub const ARG_MAX: usize = 8 * 1024 * 1024 / 4;

/// `AT_NULL`: end of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// `AT_PLATFORM`: address of the platform string.
pub const AT_PLATFORM: u64 = 15;
/// `AT_RANDOM`: address of 16 random bytes.
pub const AT_RANDOM: u64 = 25;
/// `AT_EXECFN`: address of the executed file name.
pub const AT_EXECFN: u64 = 31;

/// The initial stack, ready to be written to guest memory at `sp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackImage {
    /// Initial stack pointer (points at argc, 16-byte aligned).
    pub sp: u64,
    /// Bytes to write at `sp` (they end at the stack top).
    pub bytes: Vec<u8>,
    /// Start of the argv strings.
    pub arg_start: u64,
    /// End of the argv strings (== `env_start`).
    pub arg_end: u64,
    /// Start of the envp strings.
    pub env_start: u64,
    /// End of the envp strings.
    pub env_end: u64,
    /// The auxv as written, ending with the `AT_NULL` pair (for /proc/pid/auxv).
    pub auxv: Vec<(u64, u64)>,
}

/// A string as a C string: up to its first NUL, which is then appended.
fn c_len(s: &[u8]) -> usize {
    s.iter().position(|&b| b == 0).unwrap_or(s.len()) + 1
}

/// Builds the initial stack below `stack_top`.
///
/// `auxv_in` holds the caller's entries (AT_PHDR, AT_ENTRY, ...); any
/// AT_NULL, AT_RANDOM, AT_EXECFN or AT_PLATFORM in it is dropped and the
/// last three are appended with their real addresses (AT_PLATFORM only if
/// `platform` is non-empty). Strings are C strings (cut at an interior NUL).
/// `E2BIG` as execve: a string longer than [`MAX_ARG_STRLEN`] or strings
/// plus pointers over [`ARG_MAX`]; `ENOMEM` if it does not fit below
/// `stack_top`.
pub fn build_stack(
    stack_top: u64,
    argv: &[Vec<u8>],
    envp: &[Vec<u8>],
    execfn: &[u8],
    auxv_in: &[(u64, u64)],
    random16: [u8; 16],
    platform: &[u8],
) -> Result<StackImage, Errno> {
    let mut strings_len = 0usize;
    for s in argv
        .iter()
        .map(Vec::as_slice)
        .chain(envp.iter().map(Vec::as_slice))
        .chain([execfn])
    {
        let l = c_len(s);
        if l > MAX_ARG_STRLEN {
            return Err(Errno::E2BIG);
        }
        strings_len += l;
    }
    // As bprm_stack_limits: pointer room counts max(argc, 1) + envc.
    let ptr_room = (argv.len().max(1) + envp.len()) * 8;
    if strings_len + ptr_room > ARG_MAX {
        return Err(Errno::E2BIG);
    }

    let mut auxv: Vec<(u64, u64)> = auxv_in
        .iter()
        .copied()
        .filter(|(k, _)| !matches!(*k, AT_NULL | AT_RANDOM | AT_EXECFN | AT_PLATFORM))
        .collect();

    let top = stack_top & !15;
    // Addresses, computed downwards. Everything is bounded by ARG_MAX plus
    // the auxv, so a plain checked subtraction from `top` suffices.
    let platform_len = if platform.is_empty() { 0 } else { c_len(platform) };
    let auxv_len = (auxv.len() + 4) * 16;
    let items = (argv.len() + 1 + envp.len() + 1 + 1) * 8;
    let worst = 8 + strings_len + 16 + platform_len + 16 + 16 + auxv_len + items + 16;
    top.checked_sub(worst as u64).ok_or(Errno::ENOMEM)?;

    let mut p = top - 8;
    p -= c_len(execfn) as u64;
    let execfn_addr = p;
    let mut env_addrs = vec![0u64; envp.len()];
    for (i, s) in envp.iter().enumerate().rev() {
        p -= c_len(s) as u64;
        env_addrs[i] = p;
    }
    let mut arg_addrs = vec![0u64; argv.len()];
    for (i, s) in argv.iter().enumerate().rev() {
        p -= c_len(s) as u64;
        arg_addrs[i] = p;
    }
    let arg_start = p;
    let env_start = env_addrs.first().copied().unwrap_or(execfn_addr);
    let env_end = execfn_addr;
    p &= !15;
    let platform_addr = if platform.is_empty() {
        None
    } else {
        p -= platform_len as u64;
        Some(p)
    };
    p -= 16;
    let random_addr = p;

    auxv.push((AT_RANDOM, random_addr));
    auxv.push((AT_EXECFN, execfn_addr));
    if let Some(a) = platform_addr {
        auxv.push((AT_PLATFORM, a));
    }
    auxv.push((AT_NULL, 0));
    let sp = (p - auxv.len() as u64 * 16 - items as u64) & !15;

    let mut bytes = vec![0u8; (top - sp) as usize];
    let mut put = |addr: u64, data: &[u8]| {
        let off = (addr - sp) as usize;
        bytes[off..off + data.len()].copy_from_slice(data);
    };
    let put_c = |put: &mut dyn FnMut(u64, &[u8]), addr: u64, s: &[u8]| {
        put(addr, &s[..c_len(s) - 1]);
    };
    put_c(&mut put, execfn_addr, execfn);
    for (s, &a) in envp.iter().zip(&env_addrs) {
        put_c(&mut put, a, s);
    }
    for (s, &a) in argv.iter().zip(&arg_addrs) {
        put_c(&mut put, a, s);
    }
    if let Some(a) = platform_addr {
        put_c(&mut put, a, platform);
    }
    put(random_addr, &random16);
    let mut w = sp;
    let mut word = |put: &mut dyn FnMut(u64, &[u8]), v: u64| {
        put(w, &v.to_le_bytes());
        w += 8;
    };
    word(&mut put, argv.len() as u64);
    for &a in &arg_addrs {
        word(&mut put, a);
    }
    word(&mut put, 0);
    for &a in &env_addrs {
        word(&mut put, a);
    }
    word(&mut put, 0);
    for &(k, v) in &auxv {
        word(&mut put, k);
        word(&mut put, v);
    }

    Ok(StackImage {
        sp,
        bytes,
        arg_start,
        arg_end: env_start,
        env_start,
        env_end,
        auxv,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TOP: u64 = 0x7fff_ffff_f000;

    /// Reads guest memory out of the image.
    struct Mem<'a>(&'a StackImage);
    impl Mem<'_> {
        fn at(&self, addr: u64, len: usize) -> &[u8] {
            let off = (addr - self.0.sp) as usize;
            &self.0.bytes[off..off + len]
        }
        fn word(&self, addr: u64) -> u64 {
            u64::from_le_bytes(self.at(addr, 8).try_into().unwrap())
        }
        fn cstr(&self, addr: u64) -> Vec<u8> {
            let off = (addr - self.0.sp) as usize;
            let s = &self.0.bytes[off..];
            s[..s.iter().position(|&b| b == 0).unwrap()].to_vec()
        }
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn decodes_back() {
        let argv = strs(&["/bin/prog", "-x", "", "hello world"]);
        let envp = strs(&["PATH=/bin", "HOME=/root", "A="]);
        let rnd: [u8; 16] = core::array::from_fn(|i| i as u8 * 7 + 1);
        let aux_in = [(6u64, 4096u64), (9, 0x401000), (AT_NULL, 0), (AT_RANDOM, 5)];
        let img = build_stack(TOP, &argv, &envp, b"/bin/prog", &aux_in, rnd, b"x86_64").unwrap();
        assert_eq!(img.sp % 16, 0);
        assert_eq!(img.sp + img.bytes.len() as u64, TOP);
        let m = Mem(&img);
        assert_eq!(m.word(img.sp), 4);
        let mut a = img.sp + 8;
        for s in &argv {
            assert_eq!(&m.cstr(m.word(a)), s);
            a += 8;
        }
        assert_eq!(m.word(a), 0);
        a += 8;
        for s in &envp {
            assert_eq!(&m.cstr(m.word(a)), s);
            a += 8;
        }
        assert_eq!(m.word(a), 0);
        a += 8;
        let mut aux = Vec::new();
        loop {
            let (k, v) = (m.word(a), m.word(a + 8));
            aux.push((k, v));
            a += 16;
            if k == AT_NULL {
                break;
            }
        }
        assert_eq!(aux, img.auxv);
        assert_eq!(&aux[..2], &[(6, 4096), (9, 0x401000)]);
        assert_eq!(aux.len(), 6);
        let get = |k| aux.iter().find(|e| e.0 == k).unwrap().1;
        assert_eq!(m.at(get(AT_RANDOM), 16), &rnd);
        assert_eq!(m.cstr(get(AT_EXECFN)), b"/bin/prog");
        assert_eq!(m.cstr(get(AT_PLATFORM)), b"x86_64");
        // Strings region, in Linux order.
        assert_eq!(img.arg_start, m.word(img.sp + 8));
        assert!(img.arg_start < img.arg_end && img.arg_end == img.env_start && img.env_start < img.env_end);
        let args = m.at(img.arg_start, (img.arg_end - img.arg_start) as usize);
        assert_eq!(args, b"/bin/prog\0-x\0\0hello world\0");
        let env = m.at(img.env_start, (img.env_end - img.env_start) as usize);
        assert_eq!(env, b"PATH=/bin\0HOME=/root\0A=\0");
        assert_eq!(get(AT_EXECFN), img.env_end);
        assert!(get(AT_RANDOM) < img.arg_start && get(AT_RANDOM) > a - 16);
        // 8 zero bytes at the very top.
        assert_eq!(m.at(TOP - 8, 8), &[0; 8]);
    }

    #[test]
    fn empty_argv_envp_and_no_platform() {
        let img = build_stack(TOP - 3, &[], &[], b"x", &[], [9; 16], b"").unwrap();
        assert_eq!(img.sp % 16, 0);
        let m = Mem(&img);
        assert_eq!(m.word(img.sp), 0);
        assert_eq!(m.word(img.sp + 8), 0);
        assert_eq!(m.word(img.sp + 16), 0);
        assert_eq!(m.word(img.sp + 24), AT_RANDOM);
        assert_eq!(img.auxv.len(), 3);
        assert!(!img.auxv.iter().any(|e| e.0 == AT_PLATFORM));
        assert_eq!(img.arg_start, img.env_start);
        assert_eq!(img.env_start, img.env_end);
    }

    #[test]
    fn alignment_over_many_shapes() {
        for n in 0..40usize {
            let argv: Vec<Vec<u8>> = (0..n % 7).map(|i| vec![b'a'; i * 3 + n]).collect();
            let envp: Vec<Vec<u8>> = (0..n % 5).map(|i| vec![b'e'; i + n % 3]).collect();
            let aux: Vec<(u64, u64)> = (0..n % 4).map(|i| (100 + i as u64, i as u64)).collect();
            let img = build_stack(TOP, &argv, &envp, b"/e", &aux, [0; 16], &b"x86_64"[..n % 7]).unwrap();
            assert_eq!(img.sp % 16, 0, "n={n}");
            assert_eq!(Mem(&img).word(img.sp), argv.len() as u64);
        }
    }

    #[test]
    fn limits() {
        let big = vec![b'a'; MAX_ARG_STRLEN - 1];
        assert!(build_stack(TOP, std::slice::from_ref(&big), &[], b"x", &[], [0; 16], b"").is_ok());
        let too_big = vec![b'a'; MAX_ARG_STRLEN];
        assert_eq!(
            build_stack(TOP, &[too_big], &[], b"x", &[], [0; 16], b""),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            build_stack(TOP, &[], &[vec![b'e'; MAX_ARG_STRLEN]], b"x", &[], [0; 16], b""),
            Err(Errno::E2BIG)
        );
        // 16 strings of 128 KiB = 2 MiB of strings: over the limit with pointers.
        let many = vec![big; 16];
        assert_eq!(build_stack(TOP, &many, &[], b"x", &[], [0; 16], b""), Err(Errno::E2BIG));
        assert!(build_stack(TOP, &many[..15], &[], b"x", &[], [0; 16], b"").is_ok());
        assert_eq!(
            build_stack(100, &strs(&["a"]), &[], b"x", &[], [0; 16], b""),
            Err(Errno::ENOMEM)
        );
    }
}
