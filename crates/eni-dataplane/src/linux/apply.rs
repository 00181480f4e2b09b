//! Applying ops: grouping them into as few `ip -batch` / `tc -batch` runs and sysctl passes as
//! the plan's make-before-break order allows, rendering them as iproute2 commands, and telling
//! an idempotent "already so" answer from a real failure.
//!
//! Grouping. Each run of `ip` costs a process start (≈1–2 ms), the ops themselves tens of µs,
//! so the count of runs is what an attach costs. An op joins the latest earlier group of its
//! executor (the same namespace, `ip`, `tc` or sysctl) when it may move ahead of every op it jumps
//! over: they touch disjoint namespaces and it is not a later phase than any of them (build
//! before switch before break). Moving a build op earlier, or a switch across another
//! namespace's switch, changes no outcome and never lets a switch precede what it switches to.
//!
//! Bandwidth caps (spec §3.5). An IFB is created (up) and deleted by `ip`; its HTB and the
//! ports' clsact filters are `tc` lines, several per op. HTB has no in-place change of its
//! root qdisc, so setting a rate replaces the root (an existing HTB root answers "Change
//! operation not supported", which means it is there) and then the class, in place. A
//! redirect's filter is deleted and added again: u32 filters without an explicit handle
//! cannot be replaced, and an explicit one would collide across the two hooks, whose hash
//! tables u32 shares.

use super::netns;
use crate::model::*;
use crate::DataplaneError;

/// Make-before-break phases, in the order the planner emits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Build,
    Switch,
    Break,
}

fn phase(op: &Op) -> Phase {
    match op {
        Op::CreateNamespace(_)
        | Op::SetLoopbackUp(_)
        | Op::SetSysctl(..)
        | Op::CreateVeth(_)
        | Op::SetLinkUp(_, true)
        | Op::AddAddr(_)
        | Op::AddRule(_)
        | Op::CreateIfb(_)
        | Op::SetShaperRate(..)
        | Op::SetRedirect(..) => Phase::Build,
        // Per-NIC tables are reached only through rules: building them changes no path yet.
        Op::ReplaceRoute(k, _) if k.table != crate::plan::MAIN_TABLE => Phase::Build,
        Op::ReplaceRoute(..) | Op::ReplaceNeigh(..) => Phase::Switch,
        Op::DeleteNamespace(_)
        | Op::DeleteVeth(_)
        | Op::SetLinkUp(_, false)
        | Op::DelAddr(_)
        | Op::DelRoute(_)
        | Op::DelRule(_)
        | Op::DelNeigh(_)
        | Op::DeleteIfb(_)
        | Op::DelRedirect(_) => Phase::Break,
    }
}

/// The namespaces an op reads or changes; `None` means any (the far end of a deleted veth is
/// not named by the op, and a deleted namespace takes far ends with it).
fn touches(op: &Op) -> Option<Vec<&str>> {
    Some(match op {
        Op::DeleteVeth(_) | Op::DeleteNamespace(_) => return None,
        Op::CreateVeth(v) => vec![v.a.at.ns.as_str(), v.b.at.ns.as_str()],
        Op::CreateNamespace(ns) | Op::SetLoopbackUp(ns) => vec![ns.as_str()],
        Op::SetSysctl(k, _) => vec![k.ns.as_str()],
        Op::SetLinkUp(r, _) => vec![r.ns.as_str()],
        Op::AddAddr(a) | Op::DelAddr(a) => vec![a.dev.ns.as_str()],
        Op::ReplaceRoute(k, _) | Op::DelRoute(k) => vec![k.ns.as_str()],
        Op::AddRule(r) | Op::DelRule(r) => vec![r.ns.as_str()],
        Op::ReplaceNeigh(k, _) | Op::DelNeigh(k) => vec![k.dev.ns.as_str()],
        // A deleted IFB leaves redirects in its own namespace dangling, nothing elsewhere.
        Op::CreateIfb(r) | Op::DeleteIfb(r) | Op::SetShaperRate(r, _) => vec![r.ns.as_str()],
        Op::SetRedirect(k, _) | Op::DelRedirect(k) => vec![k.port.ns.as_str()],
    })
}

/// The namespaces whose objects an op changes directly.
pub(crate) fn namespaces_of(op: &Op) -> Vec<&str> {
    match op {
        Op::DeleteVeth(r) => vec![r.ns.as_str()],
        Op::DeleteNamespace(ns) => vec![ns.as_str()],
        _ => touches(op).unwrap_or_default(),
    }
}

/// Who carries an op out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exec {
    /// An `ip -batch` run inside the namespace.
    Ip(String),
    /// A `tc -batch` run inside the namespace.
    Tc(String),
    /// In-process writes under `/proc/sys/net` from a thread inside the namespace.
    Sysctl(String),
    /// Creating or deleting a namespace; never grouped.
    Namespace,
}

fn exec_of(op: &Op) -> Exec {
    match op {
        Op::CreateNamespace(_) | Op::DeleteNamespace(_) => Exec::Namespace,
        Op::SetSysctl(k, _) => Exec::Sysctl(k.ns.clone()),
        // Run in the far (instance) end's namespace: the planner's next ops for a new pair
        // are the router port's sysctls and then the instance end's addresses, which can then
        // join this run instead of starting another.
        Op::CreateVeth(v) => Exec::Ip(v.b.at.ns.clone()),
        Op::SetLoopbackUp(ns) => Exec::Ip(ns.clone()),
        Op::DeleteVeth(r) | Op::SetLinkUp(r, _) => Exec::Ip(r.ns.clone()),
        Op::AddAddr(a) | Op::DelAddr(a) => Exec::Ip(a.dev.ns.clone()),
        Op::ReplaceRoute(k, _) | Op::DelRoute(k) => Exec::Ip(k.ns.clone()),
        Op::AddRule(r) | Op::DelRule(r) => Exec::Ip(r.ns.clone()),
        Op::ReplaceNeigh(k, _) | Op::DelNeigh(k) => Exec::Ip(k.dev.ns.clone()),
        Op::CreateIfb(r) | Op::DeleteIfb(r) => Exec::Ip(r.ns.clone()),
        Op::SetShaperRate(r, _) => Exec::Tc(r.ns.clone()),
        Op::SetRedirect(k, _) | Op::DelRedirect(k) => Exec::Tc(k.port.ns.clone()),
    }
}

/// Whether `x` may run before `y`, which precedes it in the plan.
fn may_pass(x: &Op, y: &Op) -> bool {
    let disjoint = match (touches(x), touches(y)) {
        (Some(a), Some(b)) => a.iter().all(|n| !b.contains(n)),
        _ => false,
    };
    // Switch ops keep their order among themselves: the router's flip must not overtake the
    // new instance's side of the same move.
    disjoint && (phase(x) < phase(y) || (phase(x) == phase(y) && phase(x) != Phase::Switch))
}

/// Consecutive ops one executor runs together.
#[derive(Debug)]
pub(crate) struct Step<'a> {
    pub exec: Exec,
    pub ops: Vec<&'a Op>,
}

/// Groups `ops` into steps; running the steps in order is equivalent to running the ops in order.
pub(crate) fn schedule(ops: &[Op]) -> Vec<Step<'_>> {
    let mut steps: Vec<Step<'_>> = Vec::new();
    for op in ops {
        let exec = exec_of(op);
        if exec != Exec::Namespace {
            if let Some(g) = steps.iter().rposition(|s| s.exec == exec) {
                if steps[g + 1..]
                    .iter()
                    .flat_map(|s| &s.ops)
                    .all(|y| may_pass(op, y))
                {
                    steps[g].ops.push(op);
                    continue;
                }
            }
        }
        steps.push(Step {
            exec,
            ops: vec![op],
        });
    }
    steps
}

/// One token of an `ip -batch` line: no whitespace, quotes, escapes or comment marks.
fn token(s: &str) -> Result<&str, DataplaneError> {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !"\"'\\#".contains(c))
    {
        Ok(s)
    } else {
        Err(DataplaneError::Failed {
            what: "rendering an op".into(),
            detail: format!("unsafe token {s:?}"),
        })
    }
}

/// The `ip -batch` line for an op run inside the op's namespace.
pub(crate) fn render(op: &Op) -> Result<String, DataplaneError> {
    let t = token;
    Ok(match op {
        Op::SetLoopbackUp(_) => "link set dev lo up".to_string(),
        Op::CreateVeth(v) => {
            let netns = if v.a.at.ns == v.b.at.ns {
                String::new()
            } else {
                format!(" netns {}", t(&v.a.at.ns)?)
            };
            format!(
                "link add {} address {} mtu {} type veth peer name {} address {} mtu {}{netns}",
                t(&v.b.at.name)?,
                t(&v.b.mac)?,
                v.b.mtu,
                t(&v.a.at.name)?,
                t(&v.a.mac)?,
                v.a.mtu
            )
        }
        Op::DeleteVeth(r) => format!("link del dev {}", t(&r.name)?),
        Op::SetLinkUp(r, up) => format!(
            "link set dev {} {}",
            t(&r.name)?,
            if *up { "up" } else { "down" }
        ),
        Op::AddAddr(a) => format!("address replace {} dev {}", t(&a.cidr)?, t(&a.dev.name)?),
        Op::DelAddr(a) => format!("address del {} dev {}", t(&a.cidr)?, t(&a.dev.name)?),
        Op::ReplaceRoute(k, r) => {
            let mut line = format!("route replace {}", t(&k.dst)?);
            if let Some(via) = &r.via {
                line += &format!(" via {}", t(via)?);
            }
            line += &format!(" dev {}", t(&r.dev)?);
            if let Some(src) = &r.src {
                line += &format!(" src {}", t(src)?);
            }
            line + &format!(" table {}", k.table)
        }
        Op::DelRoute(k) => format!("route del {} table {}", t(&k.dst)?, k.table),
        Op::AddRule(r) => format!(
            "rule add from {} lookup {} pref {}",
            t(&r.from)?,
            r.table,
            r.pref
        ),
        Op::DelRule(r) => format!(
            "rule del from {} lookup {} pref {}",
            t(&r.from)?,
            r.table,
            r.pref
        ),
        Op::ReplaceNeigh(k, mac) => format!(
            "neigh replace {} lladdr {} dev {} nud permanent",
            t(&k.ip)?,
            t(mac)?,
            t(&k.dev.name)?
        ),
        Op::DelNeigh(k) => format!("neigh del {} dev {}", t(&k.ip)?, t(&k.dev.name)?),
        Op::CreateIfb(r) => format!("link add name {} up type ifb", t(&r.name)?),
        Op::DeleteIfb(r) => format!("link del dev {}", t(&r.name)?),
        Op::CreateNamespace(_)
        | Op::DeleteNamespace(_)
        | Op::SetSysctl(..)
        | Op::SetShaperRate(..)
        | Op::SetRedirect(..)
        | Op::DelRedirect(_) => {
            unreachable!("not an ip -batch op: {op:?}")
        }
    })
}

/// One `tc -batch` line and the errors that only mean "already so".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcLine {
    pub text: String,
    pub fine_if: &'static [&'static str],
}

/// What `tc` answers when a filter to delete is not there: no such priority, no filters at
/// all, no clsact qdisc, or no device.
const NO_FILTER: &[&str] = &[
    "Filter with specified priority/protocol not found",
    "Cannot find specified filter chain",
    "Parent Qdisc doesn't exists",
    "Cannot find device",
    "No such file or directory",
];

/// The HTB burst (and cburst) of a class, in bytes: 10 ms at the rate (HTB refills on the
/// timer tick, at most 10 ms apart at HZ=100), but never below one 64 KiB GSO packet, or
/// every large packet would leave the bucket in debt.
pub(crate) fn htb_burst(kbit: u64) -> u64 {
    (kbit.saturating_mul(1000) / 8 / 100).max(64 * 1024)
}

/// The HTB quantum of the one class. It only divides spare bandwidth between sibling
/// classes, of which there are none; set explicitly, HTB does not warn about a quantum
/// derived from the rate ("quantum of class … is big", spec §7.9).
pub(crate) const HTB_QUANTUM: u32 = 65_536;

/// The `tc -batch` lines for an op run inside the op's namespace.
pub(crate) fn tc_lines(op: &Op) -> Result<Vec<TcLine>, DataplaneError> {
    let t = token;
    let line = |text: String, fine_if: &'static [&'static str]| TcLine { text, fine_if };
    Ok(match op {
        Op::SetShaperRate(r, kbit) => {
            if *kbit == 0 {
                return Err(DataplaneError::Failed {
                    what: format!("{op:?}"),
                    detail: "a shaper's rate must be above 0 kbit/s".into(),
                });
            }
            let dev = t(&r.name)?;
            let burst = htb_burst(*kbit);
            vec![
                line(
                    format!("qdisc replace dev {dev} root handle 1: htb default 1"),
                    &["Change operation not supported"],
                ),
                line(
                    format!(
                        "class replace dev {dev} parent 1: classid 1:1 htb rate {kbit}kbit \
                         ceil {kbit}kbit burst {burst} cburst {burst} quantum {HTB_QUANTUM}"
                    ),
                    &[],
                ),
            ]
        }
        Op::SetRedirect(k, target) => {
            let dev = t(&k.port.name)?;
            let (hook, prio) = (k.hook.as_str(), k.hook.prio());
            vec![
                line(format!("qdisc replace dev {dev} clsact"), &[]),
                line(
                    format!("filter del dev {dev} {hook} prio {prio}"),
                    NO_FILTER,
                ),
                line(
                    format!(
                        "filter add dev {dev} {hook} protocol all prio {prio} u32 match u32 0 0 \
                         action mirred egress redirect dev {}",
                        t(target)?
                    ),
                    &[],
                ),
            ]
        }
        Op::DelRedirect(k) => vec![line(
            format!(
                "filter del dev {} {} prio {}",
                t(&k.port.name)?,
                k.hook.as_str(),
                k.hook.prio()
            ),
            NO_FILTER,
        )],
        _ => unreachable!("not a tc -batch op: {op:?}"),
    })
}

fn is_removal(op: &Op) -> bool {
    matches!(
        op,
        Op::DeleteVeth(_)
            | Op::DelAddr(_)
            | Op::DelRoute(_)
            | Op::DelRule(_)
            | Op::DelNeigh(_)
            | Op::DeleteNamespace(_)
            | Op::DeleteIfb(_)
            | Op::DelRedirect(_)
    )
}

/// How iproute2 says "there is nothing to delete", depending on the object and whether the
/// device itself is gone.
const ABSENT: [&str; 7] = [
    "Cannot find device",
    "No such device",
    "No such file or directory",
    "No such process",
    "Address not found",
    "Cannot assign requested address",
    "FIB table does not exist",
];

/// The outcome of one failed line.
pub(crate) enum Verdict {
    /// The object was already as wanted.
    Fine,
    /// A veth creation hit an existing link: fine only if it is the same pair.
    CheckVeth,
    Fatal,
}

pub(crate) fn judge(op: &Op, msg: &str) -> Verdict {
    if is_removal(op) && ABSENT.iter().any(|m| msg.contains(m)) {
        return Verdict::Fine;
    }
    match op {
        Op::AddRule(_) if msg.contains("File exists") => Verdict::Fine,
        // A link of that name exists: an IFB already, or a link the model says blocks one.
        Op::CreateIfb(_) if msg.contains("File exists") => Verdict::Fine,
        Op::CreateVeth(_) if msg.contains("File exists") => Verdict::CheckVeth,
        _ => Verdict::Fatal,
    }
}

/// The 1-based line `ip -batch` stopped at, from its "Command failed -:N" trailer. Some
/// commands (`neigh`) exit without one.
pub(crate) fn failed_line(stderr: &str) -> Option<usize> {
    stderr.lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("Command failed -:")?
            .trim()
            .parse()
            .ok()
    })
}

/// The error text without the batch trailer.
pub(crate) fn message(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("Command failed -:"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs the `ip` ops of one namespace as one batch, continuing past lines whose failure only
/// means "already so". `check_veth` decides whether an existing pair is the one wanted.
pub(crate) fn run_ip_step(
    ns: &str,
    ops: &[&Op],
    check_veth: &dyn Fn(&Veth) -> Result<bool, DataplaneError>,
) -> Result<(), DataplaneError> {
    if !netns::exists(ns) {
        // Everything in a missing namespace is already removed; anything else cannot be done.
        return match ops.iter().find(|o| !is_removal(o)) {
            None => Ok(()),
            Some(op) => Err(DataplaneError::Failed {
                what: format!("{op:?}"),
                detail: format!("namespace {ns} does not exist"),
            }),
        };
    }
    let lines: Vec<String> = ops.iter().map(|o| render(o)).collect::<Result<_, _>>()?;
    let settle = |i: usize, stderr: &str| -> Result<(), DataplaneError> {
        let msg = message(stderr);
        let fine = match judge(ops[i], &msg) {
            Verdict::Fine => true,
            Verdict::CheckVeth => match ops[i] {
                Op::CreateVeth(v) => check_veth(v)?,
                _ => false,
            },
            Verdict::Fatal => false,
        };
        if fine {
            Ok(())
        } else {
            Err(DataplaneError::Failed {
                what: format!("ip -n {ns} {}", lines[i]),
                detail: msg,
            })
        }
    };
    let mut start = 0;
    while start < lines.len() {
        let input: String = lines[start..].iter().map(|l| format!("{l}\n")).collect();
        let out = netns::in_existing_netns(ns, || netns::ip(&["-batch", "-"], &input))?;
        if out.ok {
            return Ok(());
        }
        match failed_line(&out.stderr) {
            Some(n) if n >= 1 && start + n <= lines.len() => {
                settle(start + n - 1, &out.stderr)?;
                start += n;
            }
            _ => {
                // ip exited without naming the line (or the namespace went away mid-run):
                // every op is idempotent, so redo the rest one by one to find out.
                for (i, line) in lines.iter().enumerate().skip(start) {
                    let out = netns::in_existing_netns(ns, || {
                        netns::ip(&["-batch", "-"], &format!("{line}\n"))
                    })?;
                    if !out.ok {
                        settle(i, &out.stderr)?;
                    }
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Runs the `tc` ops of one namespace as one batch, continuing past lines whose failure only
/// means "already so".
pub(crate) fn run_tc_step(ns: &str, ops: &[&Op]) -> Result<(), DataplaneError> {
    if !netns::exists(ns) {
        return match ops.iter().find(|o| !is_removal(o)) {
            None => Ok(()),
            Some(op) => Err(DataplaneError::Failed {
                what: format!("{op:?}"),
                detail: format!("namespace {ns} does not exist"),
            }),
        };
    }
    let mut lines: Vec<TcLine> = Vec::new();
    for op in ops {
        lines.extend(tc_lines(op)?);
    }
    let settle = |i: usize, stderr: &str| -> Result<(), DataplaneError> {
        let msg = message(stderr);
        if lines[i].fine_if.iter().any(|m| msg.contains(m)) {
            Ok(())
        } else {
            Err(DataplaneError::Failed {
                what: format!("tc -n {ns} {}", lines[i].text),
                detail: msg,
            })
        }
    };
    let mut start = 0;
    while start < lines.len() {
        let input: String = lines[start..]
            .iter()
            .map(|l| format!("{}\n", l.text))
            .collect();
        let out = netns::in_existing_netns(ns, || netns::tc(&["-batch", "-"], &input))?;
        if out.ok {
            return Ok(());
        }
        match failed_line(&out.stderr) {
            Some(n) if n >= 1 && start + n <= lines.len() => {
                settle(start + n - 1, &out.stderr)?;
                start += n;
            }
            _ => {
                for (i, l) in lines.iter().enumerate().skip(start) {
                    let out = netns::in_existing_netns(ns, || {
                        netns::tc(&["-batch", "-"], &format!("{}\n", l.text))
                    })?;
                    if !out.ok {
                        settle(i, &out.stderr)?;
                    }
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes sysctls from a thread inside `ns`.
pub(crate) fn run_sysctl_step(ns: &str, ops: &[&Op]) -> Result<(), DataplaneError> {
    let mut writes = Vec::new();
    for op in ops {
        let Op::SetSysctl(k, v) = op else {
            unreachable!("not a sysctl op: {op:?}")
        };
        // The key is a path below /proc/sys/net; it must not climb out of it.
        if k.key.is_empty()
            || k.key.starts_with('/')
            || k.key
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(DataplaneError::Failed {
                what: format!("sysctl {}", k.key),
                detail: "not a key under net/".into(),
            });
        }
        writes.push((k.key.clone(), v.clone()));
    }
    netns::in_existing_netns(ns, || {
        for (key, value) in &writes {
            std::fs::write(format!("/proc/sys/net/{key}"), value).map_err(|e| {
                DataplaneError::Failed {
                    what: format!("ip netns exec {ns} sysctl -w net/{key}={value}"),
                    detail: e.to_string(),
                }
            })?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ns: &str, n: &str) -> LinkRef {
        LinkRef::new(ns, n)
    }

    fn attach_ops() -> Vec<Op> {
        let end = |ns: &str, n: &str, mac: &str| LinkEnd {
            at: link(ns, n),
            mac: mac.into(),
            mtu: 1500,
            up: false,
        };
        let v = Veth {
            a: end("eni-v", "p1", "ee:ff:ff:ff:ff:ff"),
            b: end("i-1", "eth1", "00:16:3e:00:00:01"),
        };
        let sys = |k: &str| {
            Op::SetSysctl(
                SysctlKey {
                    ns: "eni-v".into(),
                    key: k.into(),
                },
                "1".into(),
            )
        };
        let addr = |ip: &str| {
            Op::AddAddr(Addr {
                dev: link("i-1", "eth1"),
                cidr: ip.into(),
            })
        };
        let route = |ns: &str, table: u32, dst: &str, dev: &str| {
            Op::ReplaceRoute(
                RouteKey {
                    ns: ns.into(),
                    table,
                    dst: dst.into(),
                },
                RouteTarget {
                    dev: dev.into(),
                    via: None,
                    src: None,
                },
            )
        };
        let rule = |from: &str| {
            Op::AddRule(Rule {
                ns: "i-1".into(),
                pref: 1001,
                from: from.into(),
                table: 1001,
            })
        };
        vec![
            Op::CreateVeth(v),
            sys("ipv4/conf/p1/proxy_arp"),
            sys("ipv4/neigh/p1/proxy_delay"),
            sys("ipv4/conf/p1/rp_filter"),
            addr("10.0.0.5/24"),
            addr("10.0.0.6/24"),
            Op::SetLinkUp(link("eni-v", "p1"), true),
            Op::SetLinkUp(link("i-1", "eth1"), true),
            Op::ReplaceNeigh(
                NeighKey {
                    dev: link("eni-v", "p1"),
                    ip: "10.0.0.5".into(),
                },
                "00:16:3e:00:00:01".into(),
            ),
            route("eni-v", 254, "10.0.0.5/32", "p1"),
            route("eni-v", 254, "10.0.0.6/32", "p1"),
            route("i-1", 1001, "default", "eth1"),
            rule("10.0.0.5/32"),
            rule("10.0.0.6/32"),
        ]
    }

    #[test]
    fn an_attach_runs_in_two_ip_batches_and_one_sysctl_pass() {
        let ops = attach_ops();
        let steps = schedule(&ops);
        let shape: Vec<(Exec, usize)> = steps
            .iter()
            .map(|s| (s.exec.clone(), s.ops.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                // create, 2 addrs, instance end up, policy table and rules: all built
                // before the router switches, so the instance answers from the first packet
                (Exec::Ip("i-1".into()), 7),
                (Exec::Sysctl("eni-v".into()), 3),
                (Exec::Ip("eni-v".into()), 4), // port up, neigh, 2 routes: the switch
            ]
        );
        // Flattened, the steps keep every namespace's own order.
        let flat: Vec<&Op> = steps.iter().flat_map(|s| s.ops.iter().copied()).collect();
        for ns in ["eni-v", "i-1"] {
            let want: Vec<&Op> = ops
                .iter()
                .filter(|o| touches(o).unwrap().contains(&ns))
                .collect();
            let got: Vec<&Op> = flat
                .iter()
                .copied()
                .filter(|o| touches(o).unwrap().contains(&ns))
                .collect();
            assert_eq!(want, got, "order in {ns}");
        }
    }

    #[test]
    fn a_switch_never_moves_ahead_of_a_build_and_deletes_are_barriers() {
        let ops = vec![
            Op::AddAddr(Addr {
                dev: link("i-2", "eth0"),
                cidr: "10.0.0.5/24".into(),
            }),
            Op::ReplaceRoute(
                RouteKey {
                    ns: "eni-v".into(),
                    table: 254,
                    dst: "10.0.0.5/32".into(),
                },
                RouteTarget {
                    dev: "p2".into(),
                    via: None,
                    src: None,
                },
            ),
            Op::ReplaceRoute(
                RouteKey {
                    ns: "i-2".into(),
                    table: 254,
                    dst: "default".into(),
                },
                RouteTarget {
                    dev: "eth0".into(),
                    via: Some("10.0.0.253".into()),
                    src: None,
                },
            ),
            Op::DeleteVeth(link("eni-v", "p1")),
            Op::DelAddr(Addr {
                dev: link("i-2", "eth9"),
                cidr: "10.0.0.9/24".into(),
            }),
        ];
        let steps = schedule(&ops);
        let lens: Vec<usize> = steps.iter().map(|s| s.ops.len()).collect();
        // Switches keep their order (the router's flip may not overtake the instance's main
        // route), a switch may not overtake a build, and nothing crosses the delete.
        assert_eq!(lens, vec![1, 1, 1, 1, 1], "{steps:?}");
        assert_eq!(steps[1].ops[0], &ops[1]);
        assert_eq!(steps[2].ops[0], &ops[2]);
    }

    #[test]
    fn lines_are_rendered_as_iproute2_commands() {
        let ops = attach_ops();
        assert_eq!(
            render(&ops[0]).unwrap(),
            "link add eth1 address 00:16:3e:00:00:01 mtu 1500 type veth peer name p1 address ee:ff:ff:ff:ff:ff mtu 1500 netns eni-v"
        );
        assert_eq!(
            render(&ops[11]).unwrap(),
            "route replace default dev eth1 table 1001"
        );
        let bad = Op::DelAddr(Addr {
            dev: link("i-1", "eth0 up"),
            cidr: "10.0.0.1/24".into(),
        });
        assert!(render(&bad).is_err());
    }

    #[test]
    fn absent_objects_and_existing_rules_are_not_failures() {
        let del = Op::DelNeigh(NeighKey {
            dev: link("i", "eth0"),
            ip: "10.0.0.1".into(),
        });
        assert!(matches!(
            judge(&del, "RTNETLINK answers: No such file or directory"),
            Verdict::Fine
        ));
        let add = Op::AddRule(Rule {
            ns: "i".into(),
            pref: 1001,
            from: "10.0.0.1/32".into(),
            table: 1001,
        });
        assert!(matches!(
            judge(&add, "RTNETLINK answers: File exists"),
            Verdict::Fine
        ));
        assert!(matches!(
            judge(&add, "RTNETLINK answers: Operation not permitted"),
            Verdict::Fatal
        ));
        assert_eq!(
            failed_line("RTNETLINK answers: File exists\nCommand failed -:3"),
            Some(3)
        );
        assert_eq!(
            failed_line("RTNETLINK answers: No such file or directory"),
            None
        );
    }

    #[test]
    fn caps_render_as_tc_lines_and_an_attach_takes_one_tc_run_more() {
        let port = |hook| RedirectKey {
            port: link("eni-v", "p1"),
            hook,
        };
        let lines = |op: &Op| -> Vec<String> {
            tc_lines(op).unwrap().into_iter().map(|l| l.text).collect()
        };
        assert_eq!(
            lines(&Op::SetShaperRate(link("eni-v", "b1u"), 20_480)),
            [
                "qdisc replace dev b1u root handle 1: htb default 1",
                "class replace dev b1u parent 1: classid 1:1 htb rate 20480kbit ceil 20480kbit \
                 burst 65536 cburst 65536 quantum 65536",
            ]
        );
        assert_eq!(htb_burst(1_000_000), 1_250_000, "10 ms at 1 Gbit/s");
        assert_eq!(
            lines(&Op::SetRedirect(port(Hook::Egress), "b1d".into())),
            [
                "qdisc replace dev p1 clsact",
                "filter del dev p1 egress prio 2",
                "filter add dev p1 egress protocol all prio 2 u32 match u32 0 0 action mirred \
                 egress redirect dev b1d",
            ]
        );
        assert_eq!(
            lines(&Op::DelRedirect(port(Hook::Ingress))),
            ["filter del dev p1 ingress prio 1"]
        );
        assert!(tc_lines(&Op::SetShaperRate(link("eni-v", "b1u"), 0)).is_err());
        assert!(tc_lines(&Op::SetRedirect(port(Hook::Ingress), String::new())).is_err());
        assert_eq!(
            render(&Op::CreateIfb(link("eni-v", "b1u"))).unwrap(),
            "link add name b1u up type ifb"
        );
        assert!(matches!(
            judge(
                &Op::CreateIfb(link("eni-v", "b1u")),
                "RTNETLINK answers: File exists"
            ),
            Verdict::Fine
        ));

        // The port's redirects run in one tc batch between its sysctls and its links coming up.
        let mut ops = attach_ops();
        let at = ops
            .iter()
            .position(|o| matches!(o, Op::AddAddr(_)))
            .unwrap();
        ops.insert(at, Op::SetRedirect(port(Hook::Egress), "b1d".into()));
        ops.insert(at, Op::SetRedirect(port(Hook::Ingress), "b1u".into()));
        let shape: Vec<(Exec, usize)> = schedule(&ops)
            .iter()
            .map(|s| (s.exec.clone(), s.ops.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Exec::Ip("i-1".into()), 7),
                (Exec::Sysctl("eni-v".into()), 3),
                (Exec::Tc("eni-v".into()), 2),
                (Exec::Ip("eni-v".into()), 4),
            ]
        );
    }
}
