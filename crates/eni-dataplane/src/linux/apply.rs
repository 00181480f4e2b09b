//! Applying ops: grouping them into as few per-namespace steps as the plan's make-before-break
//! order allows, describing them as the iproute2 commands they amount to, and telling an
//! idempotent "already so" answer from a real failure.
//!
//! Grouping. A step is one thread that enters a namespace, opens a netlink socket there and
//! sends the step's requests (and writes its sysctls) in order; entering costs ≈0.1 ms, a
//! request tens of µs. An op joins the latest earlier step of its namespace when it may move
//! ahead of every op it jumps over: they touch disjoint namespaces and it is not a later
//! phase than any of them (build before switch before break). Moving a build op earlier, or a
//! switch across another namespace's switch, changes no outcome and never lets a switch
//! precede what it switches to.
//!
//! Bandwidth caps (spec §3.5). An IFB is created up and deleted as a link; its HTB and the
//! ports' clsact filters take several requests per op. HTB has no in-place change of its
//! root qdisc, so setting a rate replaces the root (an existing HTB root answers "Change
//! operation not supported", which means it is there) and then the class, in place. A
//! redirect's filter is deleted and added again: u32 filters without an explicit handle
//! cannot be replaced, and an explicit one would collide across the two hooks, whose hash
//! tables u32 shares.

use super::netlink::{ifinfomsg, Msg, NlError, Socket, IFLA_IFNAME, IF_OPER_UP, RTM_NEWLINK};
use super::netns;
use super::requests::{htb_burst, no_filter, requests, Judge, HTB_QUANTUM};
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
        | Op::SetRedirect(..)
        | Op::SetAddrRedirects(..)
        | Op::CreateVxlan(_)
        | Op::LoadRuleset(..) => Phase::Build,
        // Per-NIC tables are reached only through rules: building them changes no path yet.
        Op::ReplaceRoute(k, _) if k.table != crate::plan::MAIN_TABLE => Phase::Build,
        Op::ReplaceRoute(..) | Op::ReplaceNeigh(..) | Op::ReplaceFdb(..) => Phase::Switch,
        Op::DeleteNamespace(_)
        | Op::DeleteVeth(_)
        | Op::SetLinkUp(_, false)
        | Op::DelAddr(_)
        | Op::DelRoute(_)
        | Op::DelRule(_)
        | Op::DelNeigh(_)
        | Op::DeleteIfb(_)
        | Op::DelRedirect(_)
        | Op::DeleteVxlan(_)
        | Op::DelFdb(_)
        | Op::DeleteRuleset(_) => Phase::Break,
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
        Op::ReplaceFdb(k, _) | Op::DelFdb(k) => vec![k.dev.ns.as_str()],
        Op::CreateVxlan(x) => vec![x.end.at.ns.as_str()],
        Op::DeleteVxlan(r) => vec![r.ns.as_str()],
        // A deleted IFB leaves redirects in its own namespace dangling, nothing elsewhere.
        Op::CreateIfb(r) | Op::DeleteIfb(r) | Op::SetShaperRate(r, _) => vec![r.ns.as_str()],
        Op::SetRedirect(k, _) | Op::DelRedirect(k) | Op::SetAddrRedirects(k, _) => {
            vec![k.port.ns.as_str()]
        }
        Op::LoadRuleset(ns, _) | Op::DeleteRuleset(ns) => vec![ns.as_str()],
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
    /// A thread inside the namespace: netlink requests on one socket opened there, and
    /// sysctl writes under its `/proc/sys/net`.
    In(String),
    /// Creating or deleting a namespace; never grouped.
    Namespace,
    /// The calling thread, in the data plane's own namespace: creating a VXLAN device, whose
    /// UDP socket is opened where its creator is, on the underlay.
    Home,
}

fn exec_of(op: &Op) -> Exec {
    let ns = match op {
        Op::CreateNamespace(_) | Op::DeleteNamespace(_) => return Exec::Namespace,
        Op::CreateVxlan(_) => return Exec::Home,
        // Run in the far (instance) end's namespace: the planner's next ops for a new pair
        // are the instance end's addresses, which then join this step.
        Op::CreateVeth(v) => &v.b.at.ns,
        Op::SetLoopbackUp(ns) => ns,
        Op::SetSysctl(k, _) => &k.ns,
        Op::DeleteVeth(r)
        | Op::SetLinkUp(r, _)
        | Op::CreateIfb(r)
        | Op::DeleteIfb(r)
        | Op::SetShaperRate(r, _)
        | Op::DeleteVxlan(r) => &r.ns,
        Op::ReplaceFdb(k, _) | Op::DelFdb(k) => &k.dev.ns,
        Op::AddAddr(a) | Op::DelAddr(a) => &a.dev.ns,
        Op::ReplaceRoute(k, _) | Op::DelRoute(k) => &k.ns,
        Op::AddRule(r) | Op::DelRule(r) => &r.ns,
        Op::ReplaceNeigh(k, _) | Op::DelNeigh(k) => &k.dev.ns,
        Op::SetRedirect(k, _) | Op::DelRedirect(k) | Op::SetAddrRedirects(k, _) => &k.port.ns,
        Op::LoadRuleset(ns, _) | Op::DeleteRuleset(ns) => ns,
    };
    Exec::In(ns.clone())
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
        if matches!(exec, Exec::In(_)) {
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
        Op::DeleteVeth(r) | Op::DeleteVxlan(r) => format!("link del dev {}", t(&r.name)?),
        Op::CreateVxlan(x) => format!(
            "link add {} address {} mtu {} netns {} type vxlan id {} local {} dstport {} nolearning",
            t(&x.end.at.name)?,
            t(&x.end.mac)?,
            x.end.mtu,
            t(&x.end.at.ns)?,
            x.vni,
            t(&x.local)?,
            x.port
        ),
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
            if r.onlink {
                line += " onlink";
            }
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
        | Op::DelRedirect(_)
        | Op::SetAddrRedirects(..)
        | Op::LoadRuleset(..)
        | Op::ReplaceFdb(..)
        | Op::DelFdb(_)
        | Op::DeleteRuleset(_) => {
            unreachable!("not an ip op: {op:?}")
        }
    })
}

/// The `tc` commands an op amounts to, for messages.
pub(crate) fn tc_lines(op: &Op) -> Result<Vec<String>, DataplaneError> {
    let t = token;
    Ok(match op {
        Op::SetShaperRate(r, kbit) => {
            let dev = t(&r.name)?;
            let burst = htb_burst(*kbit);
            vec![
                format!("qdisc replace dev {dev} root handle 1: htb default 1"),
                format!(
                    "class replace dev {dev} parent 1: classid 1:1 htb rate {kbit}kbit \
                     ceil {kbit}kbit burst {burst} cburst {burst} quantum {HTB_QUANTUM}"
                ),
            ]
        }
        Op::SetRedirect(k, target) => {
            let dev = t(&k.port.name)?;
            let (hook, prio) = (k.hook.as_str(), k.hook.prio());
            vec![
                format!("qdisc add dev {dev} clsact"),
                format!("filter del dev {dev} {hook} prio {prio}"),
                format!(
                    "filter add dev {dev} {hook} protocol all prio {prio} u32 match u32 0 0 \
                     action mirred egress redirect dev {}",
                    t(target)?
                ),
            ]
        }
        Op::DelRedirect(k) => vec![format!(
            "filter del dev {} {} prio {}",
            t(&k.port.name)?,
            k.hook.as_str(),
            k.hook.prio()
        )],
        Op::SetAddrRedirects(k, list) => {
            let dev = t(&k.port.name)?;
            let hook = k.hook.as_str();
            let side = match k.hook {
                crate::model::Hook::Egress => "src",
                crate::model::Hook::Ingress => "dst",
            };
            let mut lines = vec![
                format!("qdisc add dev {dev} clsact"),
                format!("filter del dev {dev} {hook} (every address filter)"),
            ];
            for (i, (ip, target)) in list.iter().enumerate() {
                lines.push(format!(
                    "filter add dev {dev} {hook} protocol ip prio {} u32 match ip {side} {}/32 \
                     action mirred egress redirect dev {}",
                    k.hook.addr_prio(i),
                    t(ip)?,
                    t(target)?
                ));
            }
            lines
        }
        _ => unreachable!("not a tc op: {op:?}"),
    })
}

/// The command an op amounts to, run in namespace `ns`, for messages.
pub(crate) fn describe(ns: &str, op: &Op) -> String {
    let text = match op {
        Op::SetShaperRate(..)
        | Op::SetRedirect(..)
        | Op::DelRedirect(_)
        | Op::SetAddrRedirects(..) => tc_lines(op).map(|l| format!("tc -n {ns} {}", l.join("; "))),
        Op::SetSysctl(k, v) => Ok(format!("ip netns exec {ns} sysctl -w net/{}={v}", k.key)),
        Op::LoadRuleset(_, r) => Ok(format!(
            "ip netns exec {ns} nft -f - (table inet {RULESET_TABLE}, digest {})",
            r.digest
        )),
        Op::DeleteRuleset(_) => Ok(format!(
            "ip netns exec {ns} nft delete table inet {RULESET_TABLE}"
        )),
        Op::CreateNamespace(n) => Ok(format!("ip netns add {n}")),
        Op::ReplaceFdb(k, dst) => Ok(format!(
            "bridge -n {ns} fdb replace {} dev {} dst {dst} self permanent",
            k.mac, k.dev.name
        )),
        Op::DelFdb(k) => Ok(format!(
            "bridge -n {ns} fdb del {} dev {} self",
            k.mac, k.dev.name
        )),
        // Run from the data plane's own namespace, into the device's.
        Op::CreateVxlan(_) => render(op).map(|l| format!("ip {l}")),
        Op::DeleteNamespace(n) => Ok(format!("ip netns del {n}")),
        _ => render(op).map(|l| format!("ip -n {ns} {l}")),
    };
    text.unwrap_or_else(|_| format!("{op:?}"))
}

pub(crate) fn is_removal(op: &Op) -> bool {
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
            | Op::DeleteVxlan(_)
            | Op::DelFdb(_)
            | Op::DeleteRuleset(_)
    )
}

/// How the kernel says "there is nothing to delete": no such device, address (EADDRNOTAVAIL),
/// route or table (ESRCH), rule or neighbour (ENOENT).
const ABSENT: [i32; 4] = [libc::ENODEV, libc::ENOENT, libc::ESRCH, libc::EADDRNOTAVAIL];

/// The outcome of one failed request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The object was already as wanted.
    Fine,
    /// A veth creation hit an existing link: fine only if it is the same pair.
    CheckVeth,
    Fatal,
}

pub(crate) fn judge(op: &Op, e: &NlError) -> Verdict {
    if is_removal(op) && (ABSENT.contains(&e.errno) || no_filter(e)) {
        return Verdict::Fine;
    }
    match op {
        Op::AddRule(_) if e.is(libc::EEXIST) => Verdict::Fine,
        // A link of that name exists: an IFB already, or a link the model says blocks one.
        Op::CreateIfb(_) if e.is(libc::EEXIST) => Verdict::Fine,
        Op::CreateVeth(_) if e.is(libc::EEXIST) => Verdict::CheckVeth,
        // The planner deletes a device of another shape first: one there is this one.
        // (Another device holding the VNI on the underlay is a real clash.)
        Op::CreateVxlan(_) if e.is(libc::EEXIST) && !e.says("VNI") => Verdict::Fine,
        _ => Verdict::Fatal,
    }
}

/// Checks a sysctl key: a path below `/proc/sys/net` that does not climb out of it.
fn sysctl_path(k: &SysctlKey) -> Result<String, DataplaneError> {
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
    Ok(format!("/proc/sys/net/{}", k.key))
}

/// Waits (up to 100 ms) until a veth end that has carrier, and its peer, can transmit.
///
/// A veth end that comes up while its peer is up gives both ends carrier at once, but their
/// qdiscs stay the drop-everything `noop` until the kernel's link watcher (a work item, which
/// may handle the two ends apart) attaches the real ones and marks the links operationally
/// up. A packet sent in between is lost; an ARP request lost so is retried only after a
/// second. Routes that send traffic over the pair come later in the plan, so waiting here
/// keeps the first packets of an attach from being dropped.
fn wait_active(s: &mut Socket, dev: &str) {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
    let pause = || std::thread::sleep(std::time::Duration::from_micros(20));
    let peer = loop {
        match s.link(dev) {
            Ok(Ok(Some(l))) if l.carrier && l.operstate != IF_OPER_UP => {}
            // A peer in this namespace has no namespace id.
            Ok(Ok(Some(l))) if l.carrier => break l.peer.map(|p| (p, l.peer_nsid)),
            // Without carrier (its peer is down), gone, or unreadable: nothing to wait for.
            _ => return,
        }
        if std::time::Instant::now() >= until {
            return;
        }
        pause();
    };
    let Some((index, nsid)) = peer else { return };
    while std::time::Instant::now() < until {
        match s.link_in(nsid, index) {
            Ok(Ok(Some(l))) if l.carrier && l.operstate != IF_OPER_UP => pause(),
            _ => return,
        }
    }
}

/// The name of the thread that runs a step (tracers tell steps apart by it).
pub(crate) const STEP_THREAD: &str = "eni-step";
/// The name of the thread that awaits a link delete's answer ([`delete_link`]).
pub(crate) const LINK_DEL_THREAD: &str = "eni-link-del";

/// Deletes the link `name` (a veth pair, or an IFB) and returns once the kernel no longer
/// has it, without waiting out the rest of its teardown.
///
/// The kernel answers a link delete only at the end of `netdev_run_todo`, after an RCU
/// barrier (≈16 ms, longer under load), but the link is gone well before: under RTNL it is
/// taken down and unlisted (for a veth, both ends), then its addresses, routes and
/// neighbours are flushed; RTNL is released and only then comes the wait, during which
/// nothing can reach or use the link. So the request goes out on a socket of its own from a
/// helper thread, which finishes the teardown in the background; this thread watches the
/// link disappear (≈1 ms), then sends one request that takes RTNL, which the delete held
/// from the unlisting to the end of the flush: when it is answered, the link and everything
/// on it are gone. An answer from the helper before that ends the wait too: done, or the
/// kernel's refusal, which is this op's answer.
fn delete_link(s: &mut Socket, name: &str, mut msg: Msg) -> std::io::Result<Result<(), NlError>> {
    let index = match s.link_index(name)? {
        Ok(Some(index)) => index,
        // Nothing to delete: done (the kernel would answer ENODEV, fine for a removal).
        Ok(None) => return Ok(Ok(())),
        // Unreadable: delete it the plain way, answer and all.
        Err(_) => return s.request(&mut msg),
    };
    let mut helper = Socket::open()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(LINK_DEL_THREAD.into())
        .spawn(move || {
            // Nobody may be listening any more (the link was seen gone first): fine.
            let _ = tx.send(helper.request(&mut msg));
        })?;
    let started = std::time::Instant::now();
    loop {
        // Polled closely while the unlisting is due; if RTNL is busy elsewhere, gently.
        let poll = if started.elapsed() < std::time::Duration::from_millis(5) {
            std::time::Duration::from_micros(20)
        } else {
            std::time::Duration::from_millis(1)
        };
        match rx.recv_timeout(poll) {
            Ok(answer) => return answer,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("the link delete thread died"))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        match s.link(name)? {
            // Unlisted (or, in between, replaced by a link of the same name: ours is gone).
            Ok(None) => break,
            Ok(Some(l)) if l.index != index => break,
            Ok(Some(_)) => {}
            // The link cannot be read: wait for the delete's own answer.
            Err(_) => {
                return rx
                    .recv()
                    .unwrap_or_else(|_| Err(std::io::Error::other("the link delete thread died")))
            }
        }
    }
    // An RTNL round trip: a no-op change of `lo`, which notifies nobody.
    let mut barrier = Msg::new(RTM_NEWLINK, 0, &ifinfomsg(0, 0, 0, 0));
    barrier.str(IFLA_IFNAME, "lo");
    s.request(&mut barrier)
}

/// The nftables table that holds a namespace's security groups.
pub(crate) const RULESET_TABLE: &str = "eni_sg";

/// What `nft -f` loads for a ruleset: the table replaced whole in one transaction (a packet
/// sees the old rules or the new, never none), with the digest in its comment.
pub(crate) fn ruleset_script(r: &Ruleset) -> String {
    format!(
        "table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n\tcomment \"eni:{}\"\n{}\n}}\n",
        r.digest,
        r.text,
        t = RULESET_TABLE
    )
}

/// Loads or deletes a ruleset with `nft`, from the calling thread's namespace.
fn run_nft(ns: &str, op: &Op) -> Result<(), DataplaneError> {
    let (args, input): (&[&str], String) = match op {
        Op::LoadRuleset(_, r) => (&["-f", "-"], ruleset_script(r)),
        _ => (&["delete", "table", "inet", RULESET_TABLE], String::new()),
    };
    let out = netns::nft(args, &input)?;
    // Deleting a table that is not there leaves it not there.
    if out.ok || (is_removal(op) && out.stderr.contains("No such file or directory")) {
        return Ok(());
    }
    Err(DataplaneError::Failed {
        what: describe(ns, op),
        detail: out.stderr,
    })
}

/// Runs one step's ops in order from a thread inside `ns`, continuing past failures that only
/// mean "already so". `check_veth` decides whether an existing pair is the one wanted.
pub(crate) fn run_step(
    ns: &str,
    ops: &[&Op],
    check_veth: &(dyn Fn(&Veth) -> Result<bool, DataplaneError> + Sync),
) -> Result<(), DataplaneError> {
    if !netns::exists(ns) {
        // Everything in a missing namespace is already removed; anything else cannot be done.
        return match ops.iter().find(|o| !is_removal(o)) {
            None => Ok(()),
            Some(op) => Err(DataplaneError::Failed {
                what: describe(ns, op),
                detail: format!("namespace {ns} does not exist"),
            }),
        };
    }
    netns::in_existing_netns(ns, STEP_THREAD, || run_ops(ns, ops, check_veth))
}

/// The namespace [`run_home`] reports its ops in.
pub(crate) const HOME: &str = "(host)";

/// Runs ops that belong in the data plane's own namespace on the calling thread.
pub(crate) fn run_home(ops: &[&Op]) -> Result<(), DataplaneError> {
    run_ops(HOME, ops, &|_| Ok(false))
}

/// Runs ops in order on the calling thread, which is in `ns`.
fn run_ops(
    ns: &str,
    ops: &[&Op],
    check_veth: &(dyn Fn(&Veth) -> Result<bool, DataplaneError> + Sync),
) -> Result<(), DataplaneError> {
    {
        let mut sock = None;
        for op in ops {
            if let Op::SetSysctl(k, v) = op {
                std::fs::write(sysctl_path(k)?, v).map_err(|e| DataplaneError::Failed {
                    what: describe(ns, op),
                    detail: e.to_string(),
                })?;
                continue;
            }
            if let Op::LoadRuleset(..) | Op::DeleteRuleset(_) = op {
                run_nft(ns, op)?;
                continue;
            }
            let io = |e: std::io::Error| DataplaneError::Failed {
                what: describe(ns, op),
                detail: format!("netlink: {e}"),
            };
            if sock.is_none() {
                sock = Some(Socket::open().map_err(io)?);
            }
            let s = sock.as_mut().expect("opened above");
            for mut req in requests(s, ns, op)? {
                let answer = match op {
                    Op::DeleteVeth(r) | Op::DeleteIfb(r) | Op::DeleteVxlan(r) => {
                        delete_link(s, &r.name, req.msg)
                    }
                    _ => s.request(&mut req.msg),
                };
                let Err(e) = answer.map_err(io)? else {
                    continue;
                };
                let fine = match req.judge {
                    Judge::FineIf(f) => f(&e),
                    Judge::Op => match judge(op, &e) {
                        Verdict::Fine => true,
                        Verdict::CheckVeth => match op {
                            Op::CreateVeth(v) => check_veth(v)?,
                            _ => false,
                        },
                        Verdict::Fatal => false,
                    },
                };
                if !fine {
                    return Err(DataplaneError::Failed {
                        what: describe(ns, op),
                        detail: e.to_string(),
                    });
                }
            }
            if let Op::SetLinkUp(r, true) = op {
                wait_active(s, &r.name);
            }
        }
        Ok(())
    }
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
                    onlink: false,
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
    fn an_attach_runs_in_two_steps_one_per_namespace() {
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
                (Exec::In("i-1".into()), 7),
                // the port's sysctls, then up, neigh, 2 routes: the switch
                (Exec::In("eni-v".into()), 7),
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
                    onlink: false,
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
                    onlink: false,
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
        let err = |errno: i32, ext: Option<&str>| NlError {
            errno,
            ext: ext.map(str::to_string),
        };
        let del = Op::DelNeigh(NeighKey {
            dev: link("i", "eth0"),
            ip: "10.0.0.1".into(),
        });
        assert_eq!(judge(&del, &err(libc::ENOENT, None)), Verdict::Fine);
        assert_eq!(judge(&del, &err(libc::EPERM, None)), Verdict::Fatal);
        let add = Op::AddRule(Rule {
            ns: "i".into(),
            pref: 1001,
            from: "10.0.0.1/32".into(),
            table: 1001,
        });
        assert_eq!(judge(&add, &err(libc::EEXIST, None)), Verdict::Fine);
        assert_eq!(judge(&add, &err(libc::EPERM, None)), Verdict::Fatal);
        let route = Op::DelRoute(RouteKey {
            ns: "i".into(),
            table: 1001,
            dst: "default".into(),
        });
        assert_eq!(
            judge(&route, &err(libc::ESRCH, Some("FIB table does not exist"))),
            Verdict::Fine
        );
        let redirect = Op::DelRedirect(RedirectKey {
            port: link("i", "p1"),
            hook: Hook::Ingress,
        });
        assert_eq!(
            judge(
                &redirect,
                &err(libc::EINVAL, Some("Parent Qdisc doesn't exists"))
            ),
            Verdict::Fine
        );
        assert_eq!(judge(&redirect, &err(libc::EINVAL, None)), Verdict::Fatal);
        let veth = attach_ops().remove(0);
        assert_eq!(judge(&veth, &err(libc::EEXIST, None)), Verdict::CheckVeth);
    }

    #[test]
    fn caps_read_as_tc_lines_and_join_the_routers_step() {
        let port = |hook| RedirectKey {
            port: link("eni-v", "p1"),
            hook,
        };
        let lines = |op: &Op| -> Vec<String> { tc_lines(op).unwrap() };
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
                "qdisc add dev p1 clsact",
                "filter del dev p1 egress prio 2",
                "filter add dev p1 egress protocol all prio 2 u32 match u32 0 0 action mirred \
                 egress redirect dev b1d",
            ]
        );
        assert_eq!(
            lines(&Op::DelRedirect(port(Hook::Ingress))),
            ["filter del dev p1 ingress prio 1"]
        );
        assert!(tc_lines(&Op::SetRedirect(port(Hook::Ingress), String::new())).is_err());
        assert_eq!(
            render(&Op::CreateIfb(link("eni-v", "b1u"))).unwrap(),
            "link add name b1u up type ifb"
        );
        let exists = NlError {
            errno: libc::EEXIST,
            ext: None,
        };
        assert_eq!(
            judge(&Op::CreateIfb(link("eni-v", "b1u")), &exists),
            Verdict::Fine
        );

        // The port's redirects join the router's step, between its sysctls and its links
        // coming up.
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
            vec![(Exec::In("i-1".into()), 7), (Exec::In("eni-v".into()), 9),]
        );
    }
}
