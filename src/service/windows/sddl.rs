//! The named pipe's security descriptor, as SDDL, built from the accounts' readers; and its
//! decoder, which reads a descriptor back ACE by ACE.
//!
//! Pure Rust, so the rule is tested on every platform: Wine does not enforce pipe ACLs, so what
//! a test can check is that the descriptor mailoauth builds says exactly what the readers say.
//! On Windows the string goes through `ConvertStringSecurityDescriptorToSecurityDescriptorW`
//! (src/service/windows/pipe.rs), and a test converts it back with Windows' own function and
//! decodes that too.
//!
//! The descriptor: owner and group SYSTEM; a protected DACL (nothing inherited) with
//! - SYSTEM and BUILTIN\Administrators: full control (`FA`, 0x1F01FF);
//! - each reader SID, and each member of the local group `mailoauth` (the managers who are not
//!   elevated: the desktop admin the wizard's one UAC prompt added), read and write of the
//!   pipe's data and attributes, 0x0012019B:
//!   `FILE_GENERIC_READ | FILE_GENERIC_WRITE` without `FILE_CREATE_PIPE_INSTANCE` (0x4, the same
//!   bit as `FILE_APPEND_DATA`), so a reader can connect but never create a server instance of
//!   the pipe and so receive other clients' requests;
//! - nobody else (no Everyone, no Users, no CREATOR OWNER): an empty rule denies.
//!
//! A reader is authorised per account by the service after it identifies the client by
//! impersonation; the pipe's DACL is the first gate: it admits only accounts that read at
//! least one account's token, plus the managers. A manager's ACE names the member's own SID
//! (a user, or a domain group that is a member), not the group `mailoauth`: a token's groups
//! are fixed at logon, so an ACE for the group would not admit a user added after logging on.

use std::fmt;

/// SYSTEM (LocalSystem), the service's own account.
pub const SYSTEM: &str = "S-1-5-18";
/// BUILTIN\Administrators (effective only in an elevated token: UAC filters it otherwise).
pub const ADMINISTRATORS: &str = "S-1-5-32-544";
/// FILE_ALL_ACCESS.
pub const FULL_CONTROL: u32 = 0x001F_01FF;
/// What a reader gets: connect, read and write requests and answers, read/write attributes
/// (the client sets message mode); not `FILE_CREATE_PIPE_INSTANCE`.
pub const READER_ACCESS: u32 = 0x0012_019B;
/// `FILE_CREATE_PIPE_INSTANCE` (= `FILE_APPEND_DATA`): creating a server end of the pipe.
pub const FILE_CREATE_PIPE_INSTANCE: u32 = 0x0000_0004;

/// Why a descriptor could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SddlError {
    /// A reader's SID is not a SID.
    #[error("reader {0:?} is not a SID (S-1-<authority>-<sub-authorities>)")]
    NotASid(String),
    /// A reader that would admit unauthenticated or remote users.
    #[error("reader {sid} ({name}) cannot be a reader: it would let {why} connect; name the users or groups that run the mail services")]
    TooBroad {
        /// The SID.
        sid: String,
        /// Its well-known name.
        name: &'static str,
        /// Who it would admit.
        why: &'static str,
    },
    /// The SDDL text is malformed at this point.
    #[error("malformed security descriptor at byte {at}: {what}")]
    Malformed {
        /// Byte offset.
        at: usize,
        /// What was expected.
        what: String,
    },
}

/// Whether `text` is a SID in string form: `S-1-<authority>(-<sub-authority>){0,15}`.
pub fn is_sid(text: &str) -> bool {
    let mut parts = text.split('-');
    if parts.next() != Some("S") || parts.next() != Some("1") {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && rest.len() <= 16
        && rest.iter().enumerate().all(|(i, p)| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && if i == 0 {
                    p.parse::<u64>().is_ok_and(|v| v < (1 << 48))
                } else {
                    p.parse::<u32>().is_ok()
                }
        })
}

/// The SIDs no reader may be, with the reason.
const TOO_BROAD: &[(&str, &str, &str)] = &[
    ("S-1-5-7", "ANONYMOUS LOGON", "anonymous users"),
    ("S-1-5-2", "NETWORK", "users logged on over the network"),
    ("S-1-1-0", "Everyone", "every account, including guests"),
];

/// The SIDs that may never be managers through the group `mailoauth`, beyond [`TOO_BROAD`]:
/// groups whose every member would become a manager of every account.
const TOO_BROAD_FOR_MANAGERS: &[(&str, &str)] = &[
    ("S-1-5-11", "Authenticated Users"),
    ("S-1-5-32-545", "Users"),
    ("S-1-5-32-546", "Guests"),
    ("S-1-5-4", "INTERACTIVE"),
    ("S-1-5-32-555", "Remote Desktop Users"),
];

/// The domain's own everyone-groups (`S-1-5-21-<domain>-513` Domain Users, `-514` Domain Guests,
/// `-515` Domain Computers), by their well-known relative id.
fn broad_domain_group(sid: &str) -> Option<&'static str> {
    let rest = sid.strip_prefix("S-1-5-21-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    if parts.len() != 4 {
        return None;
    }
    match parts[3] {
        "513" => Some("Domain Users"),
        "514" => Some("Domain Guests"),
        "515" => Some("Domain Computers"),
        _ => None,
    }
}

/// Splits the members of the local group `mailoauth` (SIDs, as the account database lists
/// them) into those that manage and those left out with the reason: a SID that is not one,
/// or a well-known group whose every member would become a manager (Everyone, Users,
/// Authenticated Users, ...). Upper-cased, sorted, without duplicates.
pub fn usable_managers(members: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut ok: Vec<String> = Vec::new();
    let mut left_out = Vec::new();
    for m in members {
        let sid = m.trim().to_ascii_uppercase();
        if !is_sid(&sid) {
            left_out.push((m.clone(), "not a SID".to_owned()));
        } else if let Some((_, name, _)) = TOO_BROAD.iter().find(|(s, _, _)| *s == sid) {
            left_out.push((sid, format!("{name}: every account would manage")));
        } else if let Some((_, name)) = TOO_BROAD_FOR_MANAGERS.iter().find(|(s, _)| *s == sid) {
            left_out.push((sid, format!("{name}: every member would manage")));
        } else if let Some(name) = broad_domain_group(&sid) {
            left_out.push((sid, format!("{name}: every member would manage")));
        } else if !ok.contains(&sid) {
            ok.push(sid);
        }
    }
    ok.sort();
    (ok, left_out)
}

/// The SDDL of the pipe for these reader SIDs (each `S-1-...`) and these manager SIDs (the
/// members of the local group `mailoauth`, after [`usable_managers`]): one ACE per SID, sorted,
/// without duplicates (a reader who is also a manager gets one), SYSTEM and Administrators not
/// repeated. Managers get what readers get ([`READER_ACCESS`]): the client opens the pipe with
/// exactly that; what a client may do once connected is the service's decision, by token.
pub fn pipe_sddl(readers: &[String], managers: &[String]) -> Result<String, SddlError> {
    let mut sids: Vec<String> = Vec::new();
    for r in readers.iter().chain(managers) {
        let sid = r.trim().to_ascii_uppercase();
        if !is_sid(&sid) {
            return Err(SddlError::NotASid(r.clone()));
        }
        if let Some((_, name, why)) = TOO_BROAD.iter().find(|(s, _, _)| *s == sid) {
            return Err(SddlError::TooBroad { sid, name, why });
        }
        if sid != SYSTEM && sid != ADMINISTRATORS && !sids.contains(&sid) {
            sids.push(sid);
        }
    }
    sids.sort();
    let mut out = String::from("O:SYG:SYD:P(A;;FA;;;SY)(A;;FA;;;BA)");
    for sid in sids {
        out.push_str(&format!("(A;;0x{READER_ACCESS:08x};;;{sid})"));
    }
    Ok(out)
}

/// The DACL of the service's state folder (`%ProgramData%\mailoauth`: the custody store and
/// the service's state), set from code before the first write: protected (nothing inherited
/// from `%ProgramData%`, whose default lets Users create files), SYSTEM and Administrators full
/// control, inherited by every folder and file inside (`OICI`); and `own`, the service's account
/// when it is neither (console mode), so a service run from a prompt can use its own folder.
/// Nobody else. The owner is `own` (SYSTEM for the installed service): a folder someone else
/// created first is taken over, so its creator keeps no owner's right to change the DACL back.
pub fn state_dir_sddl(own: Option<&str>) -> Result<String, SddlError> {
    let owner = own.map_or(String::from(SYSTEM), |o| o.trim().to_ascii_uppercase());
    let mut out = format!("O:{owner}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
    if let Some(own) = own {
        let sid = own.trim().to_ascii_uppercase();
        if !is_sid(&sid) {
            return Err(SddlError::NotASid(own.to_owned()));
        }
        if let Some((_, name, why)) = TOO_BROAD.iter().find(|(s, _, _)| *s == sid) {
            return Err(SddlError::TooBroad { sid, name, why });
        }
        if sid != SYSTEM && sid != ADMINISTRATORS {
            out.push_str(&format!("(A;OICI;FA;;;{sid})"));
        }
    }
    Ok(out)
}

/// One access control entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// `A` (allow), `D` (deny), or another type's SDDL letters.
    pub kind: String,
    /// Inheritance and audit flags as written (`CI`, `OI`, `ID`...); empty for none.
    pub flags: String,
    /// The access mask, aliases resolved.
    pub mask: u32,
    /// The trustee, aliases resolved to `S-1-...`.
    pub sid: String,
}

/// A security descriptor's owner, group and DACL, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Owner SID.
    pub owner: Option<String>,
    /// Primary group SID.
    pub group: Option<String>,
    /// The DACL's flags (`P` protected, `AI`, `AR`).
    pub dacl_flags: String,
    /// `None`: no DACL at all (everyone allowed). `Some(vec![])`: empty DACL (nobody).
    pub dacl: Option<Vec<Ace>>,
}

impl Descriptor {
    /// Whether the DACL is protected from inheritance.
    pub fn protected(&self) -> bool {
        // The flags are letters: P, AI, AR, NO_ACCESS_CONTROL; P stands alone.
        self.dacl_flags.contains('P')
    }
}

impl fmt::Display for Ace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} 0x{:08x} {}",
            self.kind, self.flags, self.mask, self.sid
        )
    }
}

/// SDDL's SID aliases (the subset Windows writes for local accounts and well-known groups).
fn alias_sid(alias: &str) -> Option<&'static str> {
    Some(match alias {
        "SY" => SYSTEM,
        "BA" => ADMINISTRATORS,
        "BU" => "S-1-5-32-545",
        "BG" => "S-1-5-32-546",
        "WD" => "S-1-1-0",
        "AU" => "S-1-5-11",
        "AN" => "S-1-5-7",
        "NU" => "S-1-5-2",
        "IU" => "S-1-5-4",
        "SU" => "S-1-5-6",
        "LS" => "S-1-5-19",
        "NS" => "S-1-5-20",
        "CO" => "S-1-3-0",
        "CG" => "S-1-3-1",
        "OW" => "S-1-3-4",
        "RC" => "S-1-5-12",
        "WR" => "S-1-5-33",
        "AC" => "S-1-15-2-1",
        "PS" => "S-1-5-10",
        "ER" => "S-1-5-32-573",
        "RD" => "S-1-5-32-555",
        "RU" => "S-1-5-32-554",
        "PU" => "S-1-5-32-547",
        "SO" => "S-1-5-32-549",
        "BO" => "S-1-5-32-551",
        "SS" => "S-1-18-2",
        "AS" => "S-1-18-1",
        "ME" => "S-1-16-8192",
        "HI" => "S-1-16-12288",
        "LW" => "S-1-16-4096",
        "SI" => "S-1-16-16384",
        _ => return None,
    })
}

/// SDDL's access right aliases.
fn alias_right(alias: &str) -> Option<u32> {
    Some(match alias {
        "GA" => 0x1000_0000,
        "GR" => 0x8000_0000,
        "GW" => 0x4000_0000,
        "GX" => 0x2000_0000,
        "RC" => 0x0002_0000,
        "SD" => 0x0001_0000,
        "WD" => 0x0004_0000,
        "WO" => 0x0008_0000,
        "FA" => FULL_CONTROL,
        "FR" => 0x0012_0089,
        "FW" => 0x0012_0116,
        "FX" => 0x0012_00A0,
        "KA" => 0x000F_003F,
        "KR" => 0x0002_0019,
        "KW" => 0x0002_0006,
        "KX" => 0x0002_0019,
        // Directory-service rights Windows may print for any object.
        "CC" => 0x0000_0001,
        "DC" => 0x0000_0002,
        "LC" => 0x0000_0004,
        "SW" => 0x0000_0008,
        "RP" => 0x0000_0010,
        "WP" => 0x0000_0020,
        "DT" => 0x0000_0040,
        "LO" => 0x0000_0080,
        "CR" => 0x0000_0100,
        _ => return None,
    })
}

fn malformed(at: usize, what: impl Into<String>) -> SddlError {
    SddlError::Malformed {
        at,
        what: what.into(),
    }
}

fn sid_of(text: &str, at: usize) -> Result<String, SddlError> {
    if let Some(sid) = alias_sid(text) {
        return Ok(sid.to_owned());
    }
    let upper = text.to_ascii_uppercase();
    if is_sid(&upper) {
        Ok(upper)
    } else {
        Err(malformed(
            at,
            format!("{text:?} is neither a SID nor a SID alias"),
        ))
    }
}

fn mask_of(text: &str, at: usize) -> Result<u32, SddlError> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map_err(|_| malformed(at, format!("{text:?} is not a hex access mask")));
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| malformed(at, format!("{text:?} is not an access mask")));
    }
    if text.len() % 2 != 0 {
        return Err(malformed(
            at,
            format!("{text:?} is not a list of right aliases"),
        ));
    }
    let mut mask = 0u32;
    for i in (0..text.len()).step_by(2) {
        let part = text
            .get(i..i + 2)
            .ok_or_else(|| malformed(at, "a right alias is cut"))?;
        mask |= alias_right(part)
            .ok_or_else(|| malformed(at + i, format!("unknown access right {part:?}")))?;
    }
    Ok(mask)
}

fn parse_ace(body: &str, at: usize) -> Result<Ace, SddlError> {
    let fields: Vec<&str> = body.split(';').collect();
    if fields.len() != 6 {
        return Err(malformed(
            at,
            format!(
                "an ACE has 6 fields separated by ';', this one has {}",
                fields.len()
            ),
        ));
    }
    if !fields[3].is_empty() || !fields[4].is_empty() {
        return Err(malformed(at, "object ACEs are not expected on a pipe"));
    }
    Ok(Ace {
        kind: fields[0].to_owned(),
        flags: fields[1].to_owned(),
        mask: mask_of(fields[2], at)?,
        sid: sid_of(fields[5], at)?,
    })
}

/// Reads an SDDL string back: owner, group, DACL flags and each ACE. A SACL (`S:`) is skipped.
pub fn decode(sddl: &str) -> Result<Descriptor, SddlError> {
    let mut d = Descriptor {
        owner: None,
        group: None,
        dacl_flags: String::new(),
        dacl: None,
    };
    let bytes = sddl.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let tag = sddl
            .get(i..i + 2)
            .ok_or_else(|| malformed(i, "expected O:, G:, D: or S:"))?;
        let start = i + 2;
        // The section runs to the next "X:" that starts a section outside parentheses.
        let mut j = start;
        let mut depth = 0i32;
        while j < bytes.len() {
            match bytes[j] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                b'O' | b'G' | b'D' | b'S'
                    if depth == 0 && bytes.get(j + 1) == Some(&b':') && j > start =>
                {
                    break
                }
                _ => {}
            }
            if depth < 0 {
                return Err(malformed(j, "')' without '('"));
            }
            j += 1;
        }
        if depth != 0 {
            return Err(malformed(j, "'(' without ')'"));
        }
        let section = &sddl[start..j];
        match tag {
            "O:" => d.owner = Some(sid_of(section, start)?),
            "G:" => d.group = Some(sid_of(section, start)?),
            "D:" => {
                let flags_end = section.find('(').unwrap_or(section.len());
                d.dacl_flags = section[..flags_end].to_owned();
                if d.dacl_flags.contains("NO_ACCESS_CONTROL") {
                    d.dacl = None;
                } else {
                    let mut aces = Vec::new();
                    let mut rest = &section[flags_end..];
                    let mut at = start + flags_end;
                    while !rest.is_empty() {
                        if !rest.starts_with('(') {
                            return Err(malformed(at, "expected '(' of an ACE"));
                        }
                        let close = rest
                            .find(')')
                            .ok_or_else(|| malformed(at, "an ACE is not closed"))?;
                        aces.push(parse_ace(&rest[1..close], at + 1)?);
                        at += close + 1;
                        rest = &rest[close + 1..];
                    }
                    d.dacl = Some(aces);
                }
            }
            "S:" => {}
            other => return Err(malformed(i, format!("unknown section {other:?}"))),
        }
        i = j;
    }
    Ok(d)
}

/// Checks a decoded pipe descriptor against the readers and managers, ACE by ACE: owner SYSTEM,
/// DACL protected, SYSTEM and Administrators full control, each reader and manager exactly
/// [`READER_ACCESS`], nobody else, nothing inherited, no deny ACEs needed. Returns each
/// difference in words.
pub fn differences(d: &Descriptor, readers: &[String], managers: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if d.owner.as_deref() != Some(SYSTEM) {
        out.push(format!("owner is {:?}, not SYSTEM", d.owner));
    }
    if !d.protected() {
        out.push(format!(
            "DACL flags {:?}: not protected, it would inherit",
            d.dacl_flags
        ));
    }
    let Some(aces) = &d.dacl else {
        out.push("no DACL: everyone would be allowed".into());
        return out;
    };
    let mut expected: Vec<(String, u32)> = vec![
        (SYSTEM.to_owned(), FULL_CONTROL),
        (ADMINISTRATORS.to_owned(), FULL_CONTROL),
    ];
    for r in readers.iter().chain(managers) {
        let sid = r.trim().to_ascii_uppercase();
        if !expected.iter().any(|(s, _)| *s == sid) {
            expected.push((sid, READER_ACCESS));
        }
    }
    for ace in aces {
        if ace.kind != "A" {
            out.push(format!("unexpected ACE type: {ace}"));
            continue;
        }
        if !ace.flags.is_empty() {
            out.push(format!("ACE with inheritance flags: {ace}"));
        }
        match expected.iter().find(|(s, _)| *s == ace.sid) {
            None => out.push(format!(
                "{} may connect but is no reader nor manager",
                ace.sid
            )),
            Some((_, mask)) if *mask != ace.mask => out.push(format!(
                "{} has 0x{:08x}, expected 0x{mask:08x}",
                ace.sid, ace.mask
            )),
            Some(_) => {}
        }
        if ace.mask & FILE_CREATE_PIPE_INSTANCE != 0
            && ace.sid != SYSTEM
            && ace.sid != ADMINISTRATORS
        {
            out.push(format!("{} may create pipe instances (squatting)", ace.sid));
        }
    }
    for (sid, _) in &expected {
        let n = aces.iter().filter(|a| a.sid == *sid).count();
        if n != 1 {
            out.push(format!("{sid} has {n} ACEs, expected exactly 1"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const ALICE: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
    const LP: &str = "S-1-5-21-1004336348-1177238915-682003330-1105";

    #[test]
    fn the_state_folder_is_protected_and_for_system_administrators_and_the_service_only() {
        let check = |own: Option<&str>, want: &[&str]| {
            let text = state_dir_sddl(own).unwrap();
            let d = decode(&text).unwrap();
            assert!(d.protected(), "{text}: inherits from %ProgramData%");
            let owner = own.map_or(SYSTEM.to_owned(), |o| o.to_ascii_uppercase());
            assert_eq!(d.owner.as_deref(), Some(owner.as_str()), "{text}");
            let aces = d.dacl.clone().expect("a DACL");
            let sids: Vec<&str> = aces.iter().map(|a| a.sid.as_str()).collect();
            assert_eq!(sids, want, "{text}");
            for a in &aces {
                assert_eq!(
                    (a.kind.as_str(), a.flags.as_str(), a.mask),
                    ("A", "OICI", FULL_CONTROL),
                    "{text}: {a}"
                );
            }
        };
        // The installed service (SYSTEM): SYSTEM and Administrators, nobody else.
        check(None, &[SYSTEM, ADMINISTRATORS]);
        check(Some(SYSTEM), &[SYSTEM, ADMINISTRATORS]);
        check(Some("s-1-5-32-544"), &[SYSTEM, ADMINISTRATORS]);
        // Console mode as another account: that account as well.
        check(Some(ALICE), &[SYSTEM, ADMINISTRATORS, ALICE]);
        assert!(matches!(
            state_dir_sddl(Some("alice")),
            Err(SddlError::NotASid(_))
        ));
        assert!(matches!(
            state_dir_sddl(Some("S-1-1-0")),
            Err(SddlError::TooBroad { .. })
        ));
    }
    // NT SERVICE\Spooler
    const SPOOLER: &str = "S-1-5-80-3951239711-1671533544-1416304335-1138428624-2164829208";

    #[test]
    fn the_descriptor_built_from_the_readers_decodes_to_exactly_what_they_say() {
        let readers = s(&[ALICE, LP, SPOOLER, ALICE, "s-1-5-18"]);
        let sddl = pipe_sddl(&readers, &[]).unwrap();
        let d = decode(&sddl).unwrap();
        let diff = differences(&d, &readers, &[]);
        assert!(diff.is_empty(), "{sddl}: {diff:?}");
        let aces = d.dacl.as_ref().unwrap();
        // SYSTEM, Administrators, three distinct readers: nothing else.
        assert_eq!(aces.len(), 5, "{sddl}");
        assert_eq!(d.group.as_deref(), Some(SYSTEM));
        for ace in &aces[2..] {
            assert_eq!(ace.mask, READER_ACCESS);
            assert_eq!(ace.mask & FILE_CREATE_PIPE_INSTANCE, 0);
        }
        // No readers: only the managers.
        let d = decode(&pipe_sddl(&[], &[]).unwrap()).unwrap();
        assert_eq!(d.dacl.unwrap().len(), 2);
    }

    // The desktop admin the wizard's UAC prompt added to the group mailoauth, and a domain
    // group an admin added there.
    const ADMIN: &str = "S-1-5-21-1004336348-1177238915-682003330-1000";
    const HELPDESK: &str = "S-1-5-21-3623811015-3361044348-30300820-1210";

    #[test]
    fn the_managers_of_the_group_mailoauth_may_connect_as_readers_do_ace_by_ace() {
        let readers = s(&[LP, ALICE]);
        // ALICE reads and manages: one ACE; SYSTEM as a member adds nothing.
        let managers = s(&[
            ADMIN,
            "s-1-5-21-3623811015-3361044348-30300820-1210",
            ALICE,
            SYSTEM,
        ]);
        let sddl = pipe_sddl(&readers, &managers).unwrap();
        let d = decode(&sddl).unwrap();
        assert!(d.protected(), "{sddl}");
        assert_eq!(
            (d.owner.as_deref(), d.group.as_deref()),
            (Some(SYSTEM), Some(SYSTEM))
        );
        let got: Vec<(String, String, u32, String)> = d
            .dacl
            .clone()
            .unwrap()
            .into_iter()
            .map(|a| (a.kind, a.flags, a.mask, a.sid))
            .collect();
        let ace = |mask: u32, sid: &str| (String::from("A"), String::new(), mask, sid.to_owned());
        let mut others = [ALICE, LP, ADMIN, HELPDESK];
        others.sort();
        let mut want = vec![ace(FULL_CONTROL, SYSTEM), ace(FULL_CONTROL, ADMINISTRATORS)];
        want.extend(others.iter().map(|sid| ace(READER_ACCESS, sid)));
        assert_eq!(got, want, "{sddl}");
        assert!(differences(&d, &readers, &managers).is_empty(), "{sddl}");
        // The comparison sees a manager who was left out, and one who should not be there.
        let diff = differences(&d, &readers, &[]);
        assert!(
            diff.iter()
                .any(|x| x.contains(ADMIN) && x.contains("no reader nor manager")),
            "{diff:?}"
        );
        let without = pipe_sddl(&readers, &[]).unwrap();
        let diff = differences(&decode(&without).unwrap(), &readers, &managers);
        assert!(
            diff.iter()
                .any(|x| x.contains(ADMIN) && x.contains("exactly 1")),
            "{diff:?}"
        );
        // A manager never gets to create instances either.
        let squat = sddl.replace(
            &format!("(A;;0x0012019b;;;{ADMIN})"),
            &format!("(A;;0x0012019f;;;{ADMIN})"),
        );
        let diff = differences(&decode(&squat).unwrap(), &readers, &managers);
        assert!(diff.iter().any(|x| x.contains("squatting")), "{diff:?}");
        // Too broad as a manager is refused like as a reader.
        assert!(matches!(
            pipe_sddl(&readers, &s(&["S-1-1-0"])),
            Err(SddlError::TooBroad { .. })
        ));
    }

    #[test]
    fn members_that_would_make_everyone_a_manager_are_left_out_with_the_reason() {
        let members = s(&[
            ADMIN,
            "S-1-1-0",
            "S-1-5-32-545",
            "S-1-5-11",
            "S-1-5-4",
            "garbage",
            HELPDESK,
            &ADMIN.to_ascii_lowercase(),
            "S-1-5-21-3623811015-3361044348-30300820-513",
            "S-1-5-21-3623811015-3361044348-30300820-515",
        ]);
        let (ok, left_out) = usable_managers(&members);
        let mut want = vec![ADMIN.to_owned(), HELPDESK.to_owned()];
        want.sort();
        assert_eq!(ok, want);
        let out: Vec<&str> = left_out.iter().map(|(sid, _)| sid.as_str()).collect();
        assert_eq!(
            out,
            [
                "S-1-1-0",
                "S-1-5-32-545",
                "S-1-5-11",
                "S-1-5-4",
                "garbage",
                "S-1-5-21-3623811015-3361044348-30300820-513",
                "S-1-5-21-3623811015-3361044348-30300820-515"
            ]
        );
        assert!(left_out.iter().all(|(_, why)| !why.is_empty()));
        assert!(left_out[1].1.contains("Users"), "{left_out:?}");
        assert!(left_out[5].1.contains("Domain Users"), "{left_out:?}");
        // A user whose relative id happens to end in 513 is no group of the domain's.
        let (ok, _) = usable_managers(&s(&["S-1-5-21-1-2-3-4-513"]));
        assert_eq!(ok.len(), 1);
        // What is usable builds a descriptor.
        assert!(pipe_sddl(&[], &ok).is_ok());
    }

    #[test]
    fn the_comparison_sees_every_way_a_descriptor_can_be_wrong() {
        let readers = s(&[ALICE]);
        let good = pipe_sddl(&readers, &[]).unwrap();
        let cases = [
            // a reader missing
            (
                good.replace(&format!("(A;;0x0012019b;;;{ALICE})"), ""),
                "expected exactly 1",
            ),
            // someone else
            (
                format!("{good}(A;;0x0012019b;;;{LP})"),
                "no reader nor manager",
            ),
            // Everyone, by alias
            (format!("{good}(A;;GR;;;WD)"), "S-1-1-0 may connect"),
            // a reader who may create instances
            (good.replace("0x0012019b", "0x0012019f"), "squatting"),
            // inheritance
            (good.replace("D:P", "D:AI"), "not protected"),
            (
                good.replace("(A;;FA;;;SY)", "(A;OICI;FA;;;SY)"),
                "inheritance flags",
            ),
            // no DACL at all
            (String::from("O:SYG:SY"), "no DACL"),
            // wrong owner
            (good.replace("O:SY", "O:BU"), "owner"),
            // a deny ACE
            (format!("{good}(D;;FA;;;{LP})"), "unexpected ACE type"),
        ];
        for (sddl, want) in cases {
            let diff = differences(&decode(&sddl).unwrap(), &readers, &[]);
            assert!(diff.iter().any(|d| d.contains(want)), "{sddl}: {diff:?}");
        }
    }

    #[test]
    fn readers_that_are_not_sids_or_too_broad_are_refused_with_the_reason() {
        assert_eq!(
            pipe_sddl(&s(&["alice"]), &[]),
            Err(SddlError::NotASid("alice".into()))
        );
        for bad in ["S-1-5-7", "S-1-1-0", "S-1-5-2"] {
            let e = pipe_sddl(&s(&[bad]), &[]).unwrap_err();
            assert!(matches!(e, SddlError::TooBroad { .. }), "{bad}: {e}");
        }
        for not in [
            "S-1",
            "S-1-5-",
            "S-2-5-18",
            "S-1-x",
            "S-1-5-99999999999",
            "",
        ] {
            assert!(!is_sid(not), "{not}");
        }
        assert!(is_sid(SPOOLER) && is_sid("S-1-5-32-544"));
    }

    #[test]
    fn what_windows_writes_back_decodes_too() {
        // The shape ConvertSecurityDescriptorToStringSecurityDescriptorW gives for our
        // descriptor: aliases for well-known SIDs, a hex mask, upper-case SIDs.
        let text = format!("O:SYG:SYD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;0x12019b;;;{ALICE})");
        let d = decode(&text).unwrap();
        assert!(differences(&d, &s(&[ALICE]), &[]).is_empty());
        for bad in [
            "O:SYG:SYD:P(A;;FA;;SY)",
            "O:SYG:SYD:P(A;;FA;;;SY",
            "O:SYG:SYD:P(A;;ZZ;;;SY)",
            "O:XXD:P",
            "Q:SY",
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
