#!/usr/bin/env python3
"""Checks migrations/*.sql, the PostgreSQL port of eni-store-sqlite's migrations.

Usage: python3 check_schema.py postgres://USER@HOST:PORT/DB

DB is only used to create (and at the end drop) a scratch database, schema_check_<pid>_<time>.
Needs Python 3 (stdlib: sqlite3, json, subprocess) and the `psql` client. It:

1. applies every migration here, in order, to the scratch database (psql -v ON_ERROR_STOP=1,
   one transaction);
2. applies eni-store-sqlite's 15 migrations to an in-memory SQLite database (with a Python
   port of the Rust-registered eni_ipv6_net80) and compares the two final schemas: every
   constraint, index and trigger name on its table, every column (name, order, type, NOT
   NULL), key and index column lists, foreign keys; the 0/1 CHECKs of the columns that became
   BOOLEAN must be gone and their columns BOOLEAN;
3. checks PostgreSQL's eni_ipv6_net80 against outputs of the Rust function;
4. writes the same rows into both databases and runs the same updates and deletes, then
   compares every table (the counter tables resource_counts, eni_counts, vswitch_ip_counts,
   counters, dataplane_changes, and eni_tags and eips, which triggers also write, included);
5. checks that violations are reported under the constraint names SQLite uses (SQLSTATE and
   CONSTRAINT NAME as the backend's errors.rs reads them), the prefix-overlap trigger included;
6. checks that the counters stay exact under concurrent writers (several psql sessions with no
   global write lock) and that the prefix-overlap check holds between two concurrent ones.

Exits 0 when everything matches, 1 (after printing what differs) otherwise.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
PG_MIGRATIONS = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if re.match(r'\d{4}_.*\.sql$', f))
# The SQLite migrations the port covers: 0001_init.sql is 0001-0012, 0004_group_vswitch.sql 0013,
# 0005_settings.sql 0014, 0006_hosts.sql 0015, 0007_overlay.sql 0016, 0008_dataplane_changes.sql 0017,
# 0009_instance_launch.sql 0018, 0010_labels_and_metadata.sql 0019, 0011_eip_forward_mode.sql 0020,
# 0012_console_sessions.sql 0021.
SQLITE_COVERED = 21
# PostgreSQL's own triggers, with no SQLite twin: 0002's NOTIFY that wakes other servers' agents.
PG_ONLY_TRIGGERS = {('counters', 'counters_notify_changes')}
SQLITE_MIGRATIONS = os.path.normpath(os.path.join(HERE, '..', '..', 'eni-store-sqlite', 'migrations'))

# ---------------------------------------------------------------------------------------------
# eni_ipv6_net80 in Python: the stub SQLite needs to apply 0004, and a second implementation to
# hold the PostgreSQL one against. Both agree with the Rust function on NET80_CASES (produced by
# eni-store-sqlite's ipv6_net80 compiled with rustc 1.95) and, when this was written, on 18k
# generated inputs.
# ---------------------------------------------------------------------------------------------

_HEX = '0123456789abcdefABCDEF'


class _RustIpv6Parser:
    """A port of Rust's core::net::parser for Ipv6Addr (what eni's ipv6_net80 parses with)."""

    def __init__(self, s):
        self.s, self.i = s, 0

    def atomically(self, f):
        save = self.i
        r = f()
        if r is None:
            self.i = save
        return r

    def read_char(self):
        if self.i < len(self.s):
            self.i += 1
            return self.s[self.i - 1]
        return None

    def read_given(self, c):
        return self.atomically(lambda: True if self.read_char() == c else None)

    def read_separator(self, sep, index, inner):
        def f():
            if index > 0 and self.read_given(sep) is None:
                return None
            return inner()
        return self.atomically(f)

    def read_number(self, radix, max_digits, allow_zero_prefix, max_value):
        digits = _HEX if radix == 16 else '0123456789'

        def digit():
            c = self.read_char()
            return int(c, 16) if c is not None and c in digits else None

        def f():
            has_leading_zero = self.s[self.i:self.i + 1] == '0'
            count, result = 0, 0
            while True:
                d = self.atomically(digit)
                if d is None:
                    break
                result = result * radix + d
                count += 1
                if count > max_digits:
                    return None
            if count == 0 or (not allow_zero_prefix and has_leading_zero and count > 1):
                return None
            return result if result <= max_value else None
        return self.atomically(f)

    def read_ipv4(self):
        def f():
            octets = []
            for i in range(4):
                o = self.read_separator('.', i, lambda: self.read_number(10, 3, False, 255))
                if o is None:
                    return None
                octets.append(o)
            return octets
        return self.atomically(f)

    def read_groups(self, groups):
        limit = len(groups)
        for i in range(limit):
            if i < limit - 1:
                v4 = self.read_separator(':', i, self.read_ipv4)
                if v4 is not None:
                    groups[i] = v4[0] << 8 | v4[1]
                    groups[i + 1] = v4[2] << 8 | v4[3]
                    return i + 2, True
            g = self.read_separator(':', i, lambda: self.read_number(16, 4, True, 0xFFFF))
            if g is None:
                return i, False
            groups[i] = g
        return limit, False

    def read_ipv6(self):
        def f():
            head = [0] * 8
            head_size, head_ipv4 = self.read_groups(head)
            if head_size == 8:
                return head
            if head_ipv4:
                return None
            if self.read_given(':') is None or self.read_given(':') is None:
                return None
            tail = [0] * (7 - head_size)
            tail_size, _ = self.read_groups(tail)
            if tail_size:
                head[8 - tail_size:] = tail[:tail_size]
            return head
        return self.atomically(f)

    def parse(self):
        groups = self.read_ipv6()
        return groups if groups is not None and self.i == len(self.s) else None


def eni_ipv6_net80(addr, is_prefix):
    """eni-store-sqlite's tx::addresses::ipv6_net80, the function its migration runner
    registers: a prefix is its own /80; an address's low 48 bits are cleared and the result
    written as Rust's Ipv6Addr Display writes it; text that does not parse is returned as is."""
    if is_prefix:
        return addr
    groups = _RustIpv6Parser(addr).parse()
    if groups is None:
        return addr
    groups = groups[:5] + [0, 0, 0]
    best_start = best_len = cur_start = cur_len = 0
    for i, g in enumerate(groups):
        if g == 0:
            if cur_len == 0:
                cur_start = i
            cur_len += 1
            if cur_len > best_len:
                best_start, best_len = cur_start, cur_len
        else:
            cur_len = 0
    hexes = ['%x' % g for g in groups]
    if best_len > 1:
        text = ':'.join(hexes[:best_start]) + '::' + ':'.join(hexes[best_start + best_len:])
    else:
        text = ':'.join(hexes)
    return text + '/80'

# (input, Rust's ipv6_net80(input, false)).
NET80_CASES = [
    ('', ''),
    ('::', '::/80'),
    ('::1', '::/80'),
    ('1::', '1::/80'),
    ('1:2:3:4:5:6:7::', '1:2:3:4:5::/80'),
    ('::2:3:4:5:6:7:8', '0:2:3:4:5::/80'),
    ('1:2:3:4:5:6:7:8', '1:2:3:4:5::/80'),
    ('1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'),
    ('::ffff:1.2.3.4', '::/80'),
    ('1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5::/80'),
    ('1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4'),
    ('::1.2.3.4', '::/80'),
    ('1.2.3.4', '1.2.3.4'),
    ('1:2:1.2.3.4::', '1:2:1.2.3.4::'),
    ('1::1.2.3.4', '1::/80'),
    ('1:2:3:4:5::1.2.3.4', '1:2:3:4:5::/80'),
    ('1:2:3:4:5:6::1.2.3.4', '1:2:3:4:5:6::1.2.3.4'),
    ('[::1]', '[::1]'),
    ('fe80::1%1', 'fe80::1%1'),
    ('::01.2.3.4', '::01.2.3.4'),
    ('::1.2.3.04', '::1.2.3.04'),
    ('0:0:0:0:0:0:0:0', '::/80'),
    ('00000::', '00000::'),
    ('2408:4005:3ea:ff00:7:0:ab:1', '2408:4005:3ea:ff00:7::/80'),
    ('2408:4005:3ea:ff00:0:ffff:ffff:ffff', '2408:4005:3ea:ff00::/80'),
    ('ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd::/80'),
    ('0:0:0:1:0::', '0:0:0:1::/80'),
    ('0::d667:0:00:8d84', '::d667:0:0:0/80'),
    ('::0:e:70a:0', '::/80'),
    ('::000:2:EE43', '::/80'),
    ('0:0::5:9407', '::/80'),
    ('406f:f1cc:cfc3:a990:0:d1c1:0:5a45', '406f:f1cc:cfc3:a990::/80'),
    ('::16.166.209.47', '::/80'),
    ('7:be67::00:0:6de', '7:be67::/80'),
    ('::2a:0:00', '::/80'),
    ('::0:6a:0', '::/80'),
    ('016a::178.129.170.225', '16a::/80'),
    ('::174.128.36.128', '::/80'),
    ('0000::0:0:4:0', '::/80'),
    ('d6b:0:0:FC9:0:a6b:0:3f', 'd6b:0:0:fc9::/80'),
    ('7:0:000:00:00:0:68.227.191.199', '7::/80'),
    ('0:c7eb:0:0:0:899c:acfd:0', '0:c7eb::/80'),
    ('::01D9:0:0:0:8417:7', '0:0:1d9::/80'),
    ('0::a:0:f:7e:2:0', '0:0:a:0:f::/80'),
    ('0:8::0', '0:8::/80'),
    ('::d69:000:459:B:0:e2', '0:0:d69:0:459::/80'),
    ('7:1fd::0:3b43:716:00:0', '7:1fd:0:0:3b43::/80'),
    ('::0000:61bf:4.186.236.39', '::/80'),
    ('d5a:865:b9:0::0:d65:0000', 'd5a:865:b9::/80'),
    ('::00:D8D:d:4773', '::/80'),
    ('7b73::659:0000:fe0:d:174.10.102.122', '7b73:0:659:0:fe0::/80'),
    ('4f8e:249::985e', '4f8e:249::/80'),
    ('::44.31.163.97', '::/80'),
    ('e51e:0:0:3769:b4a4:0:0:0', 'e51e:0:0:3769:b4a4::/80'),
    ('0:25::0:0:101.33.243.218', '0:25::/80'),
    ('0::9b0:462:0:000:9d:a062', '0:0:9b0:462::/80'),
    ('::3a', '::/80'),
    ('1577:1::155.104.130.213', '1577:1::/80'),
    ('cb47:0:28B1:6:0:0:252.144.159.112', 'cb47:0:28b1:6::/80'),
    ('::246.86.239.101', '::/80'),
    ('000::bd:f:0:227.10.168.104', '::bd:f:0:0:0/80'),
    ('0:0::f07a:0:200.180.24.244', '::f07a:0:0:0/80'),
    ('1BC7::0:2a6:72a:4A1:52.229.117.206', '1bc7:0:0:2a6:72a::/80'),
    ('0:000:1cc:2::201.92.58.234', '0:0:1cc:2::/80'),
    ('::0:100.183.220.244', '::/80'),
    ('00::2:0:5eb:186.78.186.247', '0:0:0:2::/80'),
    ('9:0::40.43.73.103', '9::/80'),
    (':0:c5d:0:f1b1:5', ':0:c5d:0:f1b1:5'),
    ('d3cd1:04:4:7a08:0:737:b:::', 'd3cd1:04:4:7a08:0:737:b:::'),
    ('6:2c0f:6a:a44e:031f:000:02:0:0', '6:2c0f:6a:a44e:031f:000:02:0:0'),
    ('887:F:1:0000:0:4:0:0000:0:', '887:F:1:0000:0:4:0:0000:0:'),
    ('6e03:0:489:23c:0:79', '6e03:0:489:23c:0:79'),
    ('c526:251:0:0000:f2c:66df::2:17.223.2.248', 'c526:251:0:0000:f2c:66df::2:17.223.2.248'),
    ('944e:77:89b7', '944e:77:89b7'),
    ('0:0:71d:0:8fe:0:0:34:24b1', '0:0:71d:0:8fe:0:0:34:24b1'),
    ('5:786:', '5:786:'),
    ('0:000:56', '0:000:56'),
    ('0000:75b', '0000:75b'),
    ('0:0:81:79:000', '0:0:81:79:000'),
    ('::3:231.211.9.9%eth0', '::3:231.211.9.9%eth0'),
    ('0:EF3F:165a:118b', '0:EF3F:165a:118b'),
    ('109a:a1:0:67:5:c', '109a:a1:0:67:5:c'),
    ('c:012:0:0:90e2:40:00:28d:b3c:130.19.240.58', 'c:012:0:0:90e2:40:00:28d:b3c:130.19.240.58'),
    ('6:00:523:7:0000:0:b7::87d2:205.161.91.67', '6:00:523:7:0000:0:b7::87d2:205.161.91.67'),
    ('a40:dc39:c9:0:0:9c05:cdd:F9:0:143.113.216.64', 'a40:dc39:c9:0:0:9c05:cdd:F9:0:143.113.216.64'),
    ('16.96.20.176', '16.96.20.176'),
    ('5d2:e31:fc:00:0000:0:0:67:248.119.28.224', '5d2:e31:fc:00:0000:0:0:67:248.119.28.224'),
    ('97:0:5bde:000:6:67f:0:7682:00:165.3.235.194', '97:0:5bde:000:6:67f:0:7682:00:165.3.235.194'),
    ('4:0:000:D72E:0:e475::2C2:e:207.110.159.43', '4:0:000:D72E:0:e475::2C2:e:207.110.159.43'),
    ('::3:0:6:4c76:b92:838F:000:0:150.211.130.239:', '::3:0:6:4c76:b92:838F:000:0:150.211.130.239:'),
]


# ---------------------------------------------------------------------------------------------
# Plumbing
# ---------------------------------------------------------------------------------------------

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print('FAIL: ' + msg)


def ok(msg):
    print('ok:   ' + msg)


def psql(url, script, verbose=False):
    """Runs `script` in one psql session (autocommit, stop at the first error)."""
    if verbose:
        script = '\\set VERBOSITY verbose\n' + script
    p = subprocess.run(['psql', url, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1'],
                       input=script, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def pg_rows(url, query):
    """The rows of `query` as a list of dicts (through json_agg, so types survive)."""
    rc, out, err = psql(url, "SELECT coalesce(json_agg(q), '[]'::json) FROM (%s) q;" % query)
    if rc != 0:
        raise RuntimeError('psql failed on %r: %s' % (query, err.strip()))
    return json.loads(out)


def with_database(url, name):
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, '/' + name, u.query, u.fragment))


def strip_comments(sql):
    return re.sub(r'--[^\n]*', '', sql)


def norm_pred(text):
    return re.sub(r'[\s()]', '', text or '').lower()


# ---------------------------------------------------------------------------------------------
# 1-2. Both schemas
# ---------------------------------------------------------------------------------------------

def sqlite_database():
    files = sorted(f for f in os.listdir(SQLITE_MIGRATIONS) if f.endswith('.sql'))
    expected = ['%04d' % i for i in range(1, SQLITE_COVERED + 1)]
    if [f[:4] for f in files] != expected:
        fail('the port covers SQLite migrations 0001-%04d, the SQLite store has %s'
             % (SQLITE_COVERED, files))
    conn = sqlite3.connect(':memory:', isolation_level=None)
    conn.execute('PRAGMA foreign_keys = ON')
    conn.create_function('eni_ipv6_net80', 2, lambda a, p: eni_ipv6_net80(a, bool(p)),
                         deterministic=True)
    for f in files:
        with open(os.path.join(SQLITE_MIGRATIONS, f)) as fh:
            conn.executescript(fh.read())
    return conn


def sqlite_schema(conn):
    s = {'tables': {}, 'constraints': set(), 'bool_checks': set(), 'indexes': {},
         'triggers': set(), 'keys': set(), 'fks': set()}
    for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                                  "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
        body = strip_comments(sql)
        cols = conn.execute('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) '
                            'ORDER BY cid', (name,)).fetchall()
        s['tables'][name] = {'cols': cols, 'autoincrement': 'AUTOINCREMENT' in body.upper()}
        for c in re.findall(r'\bCONSTRAINT\s+(\w+)', body, re.I):
            s['constraints'].add((name, c))
        for c, col in re.findall(r'\bCONSTRAINT\s+(\w+)\s+CHECK\s*\(\s*(\w+)\s+IN\s*\(\s*0\s*,\s*1\s*\)\s*\)',
                                 body, re.I):
            s['bool_checks'].add((name, c, col))
        has_pk_index = False
        for _, iname, unique, origin, partial in conn.execute(
                'SELECT seq, name, "unique", origin, partial FROM pragma_index_list(?)', (name,)):
            icols = tuple(r[0] for r in conn.execute(
                'SELECT name FROM pragma_index_info(?) ORDER BY seqno', (iname,)))
            if origin in ('u', 'pk'):
                s['keys'].add((name, 'p' if origin == 'pk' else 'u', icols))
                has_pk_index |= origin == 'pk'
        pk = [c for c in cols if c[4]]
        if len(pk) == 1 and pk[0][1].upper() == 'INTEGER' and not has_pk_index:
            s['keys'].add((name, 'p', (pk[0][0],)))  # an INTEGER PRIMARY KEY: the rowid
        fks = {}
        for fid, _, ref, frm, to, _, on_delete, _ in conn.execute(
                'SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq', (name,)):
            fk = fks.setdefault(fid, [ref, [], [], on_delete])
            fk[1].append(frm)
            fk[2].append(to)
        for ref, frm, to, on_delete in fks.values():
            s['fks'].add((name, tuple(frm), ref, tuple(to), on_delete))
    for iname, tbl, sql in conn.execute("SELECT name, tbl_name, sql FROM sqlite_master "
                                        "WHERE type = 'index' AND sql IS NOT NULL"):
        icols = tuple(r[0] for r in conn.execute(
            'SELECT name FROM pragma_index_info(?) ORDER BY seqno', (iname,)))
        m = re.search(r'\bWHERE\b(.*)$', strip_comments(sql), re.I | re.S)
        unique = bool(re.match(r'\s*CREATE\s+UNIQUE', sql, re.I))
        s['indexes'][(tbl, iname)] = (icols, unique, norm_pred(m.group(1)) if m else None)
    for name, tbl in conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"):
        s['triggers'].add((tbl, name))
    return s


def pg_schema(url):
    s = {'tables': {}, 'constraints': {}, 'indexes': {}, 'triggers': set(), 'keys': set(),
         'fks': set()}
    for r in pg_rows(url, """
            SELECT table_name AS t, column_name AS c, data_type AS ty, is_nullable AS nullable,
                   column_default AS dflt, is_identity AS ident
            FROM information_schema.columns WHERE table_schema = 'public'
            ORDER BY table_name, ordinal_position"""):
        s['tables'].setdefault(r['t'], []).append(r)
    cols_of = """array(SELECT a.attname::text FROM unnest(%s) WITH ORDINALITY k(n, o)
                       JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = k.n ORDER BY k.o)"""
    for r in pg_rows(url, """
            SELECT c.conrelid::regclass::text AS t, c.conname AS n, c.contype AS ty,
                   %s AS cols, c.confrelid::regclass::text AS ref, %s AS refcols,
                   c.confdeltype AS del
            FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace
            WHERE ns.nspname = 'public' AND c.conrelid <> 0""" % (
            cols_of % ('c.conkey', 'c.conrelid'), cols_of % ('c.confkey', 'c.confrelid'))):
        s['constraints'][(r['t'], r['n'])] = r['ty']
        if r['ty'] in ('p', 'u'):
            s['keys'].add((r['t'], r['ty'], tuple(r['cols'])))
        if r['ty'] == 'f':
            action = {'a': 'NO ACTION', 'r': 'RESTRICT', 'c': 'CASCADE', 'n': 'SET NULL',
                      'd': 'SET DEFAULT'}[r['del']]
            s['fks'].add((r['t'], tuple(r['cols']), r['ref'], tuple(r['refcols']), action))
    for r in pg_rows(url, """
            SELECT t.relname AS t, i.relname AS n, x.indisunique AS u,
                   pg_get_expr(x.indpred, x.indrelid) AS pred,
                   array(SELECT pg_get_indexdef(x.indexrelid, k, true)
                         FROM generate_series(1, x.indnkeyatts) k) AS cols
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace
            WHERE ns.nspname = 'public'"""):
        s['indexes'][(r['t'], r['n'])] = (tuple(r['cols']), r['u'],
                                          norm_pred(r['pred']) if r['pred'] else None)
    for r in pg_rows(url, """
            SELECT tgrelid::regclass::text AS t, tgname AS n FROM pg_trigger
            WHERE NOT tgisinternal"""):
        s['triggers'].add((r['t'], r['n']))
    return s


def compare_schemas(lite, pg):
    dropped = {(t, c) for t, c, _ in lite['bool_checks']}
    bool_cols = {(t, col) for t, _, col in lite['bool_checks']}
    print('\n== names (constraints, indexes, triggers) ==')
    want = lite['constraints'] - dropped
    missing = sorted(want - set(pg['constraints']))
    extra = sorted(set(pg['constraints']) - want)
    for t, n in missing:
        fail('constraint %s on %s is missing in PostgreSQL' % (n, t))
    for t, n in extra:
        fail('constraint %s on %s is in PostgreSQL but not in SQLite' % (n, t))
    if not missing and not extra:
        ok('%d constraint names, each on its SQLite table' % len(want))
    still = sorted(dropped & set(pg['constraints']))
    for t, n in still:
        fail('0/1 check %s on %s should be gone (the column is BOOLEAN)' % (n, t))
    if not still:
        ok('%d 0/1 checks dropped with their columns made BOOLEAN: %s'
           % (len(dropped), ', '.join(sorted(n for _, n in dropped))))
    key_indexes = {k for k, ty in pg['constraints'].items() if ty in ('p', 'u')}
    missing = sorted(set(lite['indexes']) - set(pg['indexes']))
    extra = sorted(set(pg['indexes']) - set(lite['indexes']) - key_indexes)
    for t, n in missing:
        fail('index %s on %s is missing in PostgreSQL' % (n, t))
    for t, n in extra:
        fail('index %s on %s is in PostgreSQL but not in SQLite' % (n, t))
    if not missing and not extra:
        ok('%d index names (and %d key indexes named after their constraints)'
           % (len(lite['indexes']), len(key_indexes)))
    bad = 0
    for k, v in sorted(lite['indexes'].items()):
        if k in pg['indexes'] and pg['indexes'][k] != v:
            bad += 1
            fail('index %s on %s: SQLite %s, PostgreSQL %s' % (k[1], k[0], v, pg['indexes'][k]))
    if not bad:
        ok('index columns, uniqueness and partial predicates match')
    missing = sorted(lite['triggers'] - pg['triggers'])
    extra = sorted(pg['triggers'] - lite['triggers'] - PG_ONLY_TRIGGERS)
    for t, n in missing:
        fail('trigger %s on %s is missing in PostgreSQL' % (n, t))
    for t, n in extra:
        fail('trigger %s on %s is in PostgreSQL but not in SQLite' % (n, t))
    if not missing and not extra:
        ok('%d trigger names, each on its SQLite table' % len(lite['triggers']))

    print('\n== tables, columns, keys ==')
    if set(lite['tables']) != set(pg['tables']):
        fail('tables differ: only SQLite %s, only PostgreSQL %s' % (
            sorted(set(lite['tables']) - set(pg['tables'])),
            sorted(set(pg['tables']) - set(lite['tables']))))
    bad = 0
    for t, info in sorted(lite['tables'].items()):
        pcols = pg['tables'].get(t, [])
        if [c[0] for c in info['cols']] != [c['c'] for c in pcols]:
            bad += 1
            fail('%s columns: SQLite %s, PostgreSQL %s' % (
                t, [c[0] for c in info['cols']], [c['c'] for c in pcols]))
            continue
        for (name, ty, notnull, dflt, pk), p in zip(info['cols'], pcols):
            want_ty = {'INTEGER': 'boolean' if (t, name) in bool_cols else 'bigint',
                       'TEXT': 'text'}.get(ty.upper(), '?' + ty)
            want_null = 'NO' if (notnull or pk) else 'YES'
            want_ident = 'YES' if (pk and ty.upper() == 'INTEGER' and info['autoincrement']) else 'NO'
            pdflt = None if p['dflt'] is None else re.sub(r'::\w+$', '', p['dflt'])
            got = (p['ty'], p['nullable'], p['ident'], pdflt)
            want = (want_ty, want_null, want_ident, dflt)
            if got != want:
                bad += 1
                fail('%s.%s: want (type, nullable, identity, default) %s, PostgreSQL has %s'
                     % (t, name, want, got))
    if not bad:
        ok('%d tables: same columns in the same order; INTEGER -> bigint (0/1 -> boolean), '
           'TEXT -> text, NOT NULL, defaults, AUTOINCREMENT -> identity'
           % len(lite['tables']))
    if lite['keys'] != pg['keys']:
        for k in sorted(lite['keys'] - pg['keys']):
            fail('key %s only in SQLite' % (k,))
        for k in sorted(pg['keys'] - lite['keys']):
            fail('key %s only in PostgreSQL' % (k,))
    else:
        ok('%d primary and unique keys over the same columns' % len(lite['keys']))
    if lite['fks'] != pg['fks']:
        for k in sorted(lite['fks'] - pg['fks']):
            fail('foreign key %s only in SQLite' % (k,))
        for k in sorted(pg['fks'] - lite['fks']):
            fail('foreign key %s only in PostgreSQL' % (k,))
    else:
        ok('%d foreign keys: same columns, referenced columns, ON DELETE' % len(lite['fks']))
    return bool_cols


# ---------------------------------------------------------------------------------------------
# 3. eni_ipv6_net80
# ---------------------------------------------------------------------------------------------

def check_net80(url):
    print('\n== eni_ipv6_net80 ==')
    for a, want in NET80_CASES:
        if eni_ipv6_net80(a, False) != want:
            fail('Python port: eni_ipv6_net80(%r) = %r, Rust %r' % (a, eni_ipv6_net80(a, False), want))
    inputs = json.dumps([a for a, _ in NET80_CASES])
    rows = pg_rows(url, "SELECT x, eni_ipv6_net80(x, false) AS net FROM "
                        "json_array_elements_text($j$%s$j$::json) WITH ORDINALITY t(x, o) "
                        "ORDER BY o" % inputs)
    bad = [(a, r['net'], want) for (a, want), r in zip(NET80_CASES, rows) if r['net'] != want]
    for a, got, want in bad:
        fail('PostgreSQL eni_ipv6_net80(%r, false) = %r, Rust gives %r' % (a, got, want))
    extra = pg_rows(url, "SELECT eni_ipv6_net80('2408:4005:3ea:ff00:1::/80', true) AS p, "
                         "eni_ipv6_net80(NULL, false) AS n")
    if extra != [{'p': '2408:4005:3ea:ff00:1::/80', 'n': None}]:
        fail('eni_ipv6_net80 of a prefix / of NULL: %s' % extra)
    if not bad and len(rows) == len(NET80_CASES):
        ok('PostgreSQL eni_ipv6_net80 = Rust ipv6_net80 on %d inputs (%d of them not addresses)'
           % (len(NET80_CASES), sum(1 for a, w in NET80_CASES if a == w)))


# ---------------------------------------------------------------------------------------------
# 4. The same writes on both, then every table compared
# ---------------------------------------------------------------------------------------------

R = "'cn-hangzhou'"
ZONE = "'cn-hangzhou-a'"

ENI_COLS = ('id, account_id, region_id, zone_id, vpc_id, vswitch_id, eni_type, status, due_at, '
            'instance_id, device_index, mac, primary_ip, name, description, delete_on_release, '
            'source_dest_check, queue_number, traffic_mode, resource_group_id, tags, created_at')


def eni(id_, vsw, ty, status, due, inst, dev, mac, ip, rg, tags, vpc='vpc-1'):
    return ("INSERT INTO enis (%s) VALUES ('%s', 1, %s, %s, '%s', '%s', '%s', '%s', %s, %s, %s, "
            "'%s', %d, '%s', '', TRUE, FALSE, 1, 'Standard', '%s', '%s', 1000)"
            % (ENI_COLS, id_, R, ZONE, vpc, vsw, ty, status, due, inst, dev, mac, ip, id_, rg, tags))


def member(eni_id, pos, sg, counted):
    return ("INSERT INTO eni_security_groups "
            "(eni_id, position, security_group_id, eni_seq, counted, vswitch_id) "
            "VALUES ('%s', %d, '%s', (SELECT seq FROM enis WHERE id = '%s'), %s, "
            "(SELECT vswitch_id FROM enis WHERE id = '%s'))"
            % (eni_id, pos, sg, eni_id, counted, eni_id))


def ipv6(vsw, addr, owner, is_prefix):
    return ("INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net) "
            "VALUES ('%s', '%s', '%s', %s, eni_ipv6_net80('%s', %s))"
            % (vsw, addr, owner, is_prefix, addr, is_prefix))


VPC_COLS = ('id, account_id, region_id, cidr_block, ipv6_cidr_block, ipv6_isp, name, description, '
            'status, is_default, vrouter_id, route_table_id, resource_group_id, tags, created_at')
VSW_COLS = ('id, account_id, region_id, vpc_id, zone_id, cidr_block, ipv6_cidr_block, name, '
            'description, status, is_default, resource_group_id, tags, created_at')
SG_COLS = ('id, account_id, region_id, vpc_id, name, description, group_type, resource_group_id, '
           'tags, created_at, inner_access_policy')
RULE_COLS = ('id, security_group_id, direction, ip_protocol, port_from, port_to, source_port_range, '
             'source_cidr_ip, ipv6_source_cidr_ip, dest_cidr_ip, ipv6_dest_cidr_ip, peer_group_id, '
             'peer_key, policy, priority, nic_type, description, created_at')
HOST_COLS = 'id, name, zone_id, underlay_address, capacity_vcpus, last_seen_at, created_at'
EIP_COLS = ('id, account_id, region_id, ip, bandwidth, internet_charge_type, instance_charge_type, '
            'isp, name, description, resource_group_id, tags, status, due_at, instance_id, '
            'instance_type, eni_id, vpc_id, vswitch_id, private_ip, mode, created_at')

# TRUE and FALSE are literals in both dialects (SQLite >= 3.23 reads them as 1 and 0).
WRITES = [
    "INSERT INTO accounts (id, name, created_at) VALUES (1, 'acme', 1000), (2, 'other', 1000)",
    "INSERT INTO access_keys (id, secret, account_id, created_at) VALUES ('AK1', 's', 1, 1000)",
    "INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES ('AK1', 'n1', 2000)",
    "INSERT INTO idempotency VALUES (1, 'CreateVpc', 'tok', 'd', '{}', 1000)",
    "INSERT INTO vpcs (%s) VALUES "
    "('vpc-1', 1, %s, '10.0.0.0/8', '2408:4005:3ea::/56', 'BGP', 'main', '', 'Available', TRUE, "
    "'vrt-1', 'vtb-1', 'rg-1', '[[\"env\",\"prod\"]]', 1000), "
    "('vpc-2', 1, %s, '172.16.0.0/12', NULL, NULL, 'spare', '', 'Available', FALSE, "
    "'vrt-2', 'vtb-2', 'rg-1', '[]', 1001)" % (VPC_COLS, R, R),
    "INSERT INTO vswitches (%s) VALUES "
    "('vsw-1', 1, %s, 'vpc-1', %s, '10.0.0.0/24', '2408:4005:3ea:ff00::/64', 'a', '', 'Available', TRUE, 'rg-1', '[]', 1000), "
    "('vsw-2', 1, %s, 'vpc-1', %s, '10.0.1.0/24', NULL, 'b', '', 'Available', FALSE, 'rg-1', '[]', 1001), "
    "('vsw-3', 1, %s, 'vpc-2', %s, '172.16.0.0/24', NULL, 'c', '', 'Available', FALSE, 'rg-1', '[]', 1002)"
    % (VSW_COLS, R, ZONE, R, ZONE, R, ZONE),
    "INSERT INTO ip_free_ranges (vswitch_id, lo, hi) VALUES ('vsw-1', 167772170, 167772410)",
    "INSERT INTO security_groups (%s) VALUES "
    "('sg-1', 1, %s, 'vpc-1', 'web', '', 'normal', 'rg-1', '[]', 1000, 'Accept'), "
    "('sg-2', 1, %s, 'vpc-1', 'ent', '', 'enterprise', 'rg-1', '[]', 1001, 'Drop')" % (SG_COLS, R, R),
    "INSERT INTO security_group_rules (%s) VALUES "
    "('sgr-1', 'sg-1', 'ingress', 'TCP', 22, 22, '', '0.0.0.0/0', '', '', '', NULL, '', 'Accept', 1, 'intranet', '', 1000), "
    "('sgr-2', 'sg-2', 'ingress', 'ALL', -1, -1, '', '', '', '', '', 'sg-1', 'sg-1', 'Accept', 1, 'intranet', '', 1001)"
    % RULE_COLS,
    "INSERT INTO hosts (%s) VALUES ('dh-1', 'node-a', %s, '192.0.2.1', 64, 1000, 1000), "
    "('dh-2', 'node-b', %s, '192.0.2.2', 4294967295, 1000, 1000)" % (HOST_COLS, ZONE, ZONE),
    "INSERT INTO instances (id, account_id, region_id, zone_id, instance_type, vpc_id, vswitch_id, "
    "status, due_at, name, host_name, description, image_id, resource_group_id, tags, created_at, "
    "started_at, host_id) VALUES ('i-1', 1, %s, %s, 'ecs.g7.large', 'vpc-1', 'vsw-1', 'Running', "
    "NULL, 'web', 'web', '', 'img-1', 'rg-1', '[]', 1000, 1001, 'dh-1')" % (R, ZONE),
    eni('eni-1', 'vsw-1', 'Primary', 'InUse', 'NULL', "'i-1'", '0', '00:16:3e:00:00:01', 167772165,
        'rg-1', '[["k","v"],["team","a"]]'),
    eni('eni-2', 'vsw-1', 'Secondary', 'Available', 'NULL', 'NULL', 'NULL', '00:16:3e:00:00:02',
        167772166, 'rg-1', '[["k","w"],["k","w2"]]'),
    eni('eni-3', 'vsw-2', 'Trunk', 'Attaching', '2000', "'i-1'", '1', '00:16:3e:00:00:03',
        167772422, 'rg-2', '[]'),
    member('eni-1', 0, 'sg-1', 'FALSE'),
    member('eni-2', 0, 'sg-1', 'TRUE'),
    member('eni-2', 1, 'sg-2', 'TRUE'),
    member('eni-3', 0, 'sg-2', 'TRUE'),
    "INSERT INTO private_ips (vswitch_id, ip, owner, kind, prefix) VALUES "
    "('vsw-1', 167772165, 'eni-1', 'primary', NULL), ('vsw-1', 167772166, 'eni-2', 'primary', NULL), "
    "('vsw-1', 167772167, 'eni-2', 'secondary', NULL), ('vsw-1', 167772176, 'eni-2', 'prefix', 167772176), "
    "('vsw-1', 167772177, 'eni-2', 'prefix', 167772176), ('vsw-2', 167772422, 'eni-3', 'primary', NULL)",
    ipv6('vsw-1', '2408:4005:3ea:ff00:7:0:ab:1', 'eni-2', 'FALSE'),
    ipv6('vsw-1', '2408:4005:3ea:ff00:7:0:ab:2', 'eni-2', 'FALSE'),
    ipv6('vsw-1', '2408:4005:3ea:ff00:1::/80', 'eni-2', 'TRUE'),
    ipv6('vsw-1', '2408:4005:3ea:ff00:0:ffff:ffff:ffff', 'eni-1', 'FALSE'),
    "INSERT INTO eips (%s) VALUES "
    "('eip-1', 1, %s, 3232235777, 5, 'PayByTraffic', 'PostPaid', 'BGP', '', '', 'rg-1', '[]', 'InUse', "
    "NULL, 'eni-2', 'NetworkInterface', 'eni-2', 'vpc-1', 'vsw-1', 167772167, 'NAT', 1000), "
    "('eip-2', 1, %s, 3232235778, 1, 'PayByBandwidth', 'PostPaid', 'BGP', '', '', 'rg-1', '[]', 'Available', "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1001), "
    "('eip-3', 1, %s, 3232235779, 1, 'PayByBandwidth', 'PrePaid', 'BGP', '', '', 'rg-1', '[]', 'Associating', "
    "3000, 'i-1', 'EcsInstance', 'eni-1', 'vpc-1', 'vsw-1', 167772165, 'NAT', 1002)" % (EIP_COLS, R, R, R),
    "INSERT INTO eip_pools (id) VALUES ('203.0.113.0/24')",
    "INSERT INTO eip_free_ranges (pool_id, lo, hi) VALUES ('203.0.113.0/24', 3405803776, 3405804031)",
    # ENI updates: status alone (one count moves), detach, a tags change, a move of the
    # resource group together with a status change, and an update that sets every column to
    # its own value (what eni_update does when nothing changed: only the generation moves).
    "UPDATE enis SET status = 'Detaching', due_at = 5000 WHERE id = 'eni-1'",
    "UPDATE enis SET status = 'Available', due_at = NULL, instance_id = NULL, device_index = NULL "
    "WHERE id = 'eni-1'",
    "UPDATE enis SET tags = '[[\"k\",\"x\"],[\"new\",\"1\"]]' WHERE id = 'eni-2'",
    "UPDATE enis SET resource_group_id = 'rg-9', status = 'InUse', instance_id = 'i-1', "
    "device_index = 2 WHERE id = 'eni-2'",
    "UPDATE enis SET account_id = account_id, region_id = region_id, vpc_id = vpc_id, "
    "vswitch_id = vswitch_id, eni_type = eni_type, status = status, tags = tags, "
    "resource_group_id = resource_group_id WHERE id = 'eni-3'",
    "UPDATE enis SET eni_type = 'Secondary' WHERE id = 'eni-3'",
    "UPDATE instances SET status = 'Stopping', due_at = 6000 WHERE id = 'i-1'",
    "UPDATE instances SET host_id = 'dh-2' WHERE id = 'i-1'",
    "UPDATE hosts SET underlay_address = '192.0.2.9', capacity_vcpus = 8, last_seen_at = 2000 "
    "WHERE id = 'dh-1'",
    "UPDATE security_groups SET inner_access_policy = 'Drop' WHERE id = 'sg-1'",
    "UPDATE security_groups SET name = 'renamed' WHERE id = 'sg-2'",
    "UPDATE security_group_rules SET description = 'ssh' WHERE id = 'sgr-1'",
    "UPDATE eips SET name = 'renamed' WHERE id = 'eip-2'",
    "UPDATE eips SET status = 'InUse', due_at = NULL WHERE id = 'eip-3'",
    # A bound EIP's mode moves the generation; an unbound one's does not.
    "UPDATE eips SET forward_mode = 'MULTI_BINDED' WHERE id = 'eip-3'",
    "UPDATE eips SET forward_mode = 'BINDED' WHERE id = 'eip-2'",
    "UPDATE eips SET region_id = 'cn-shanghai' WHERE id = 'eip-2'",
    "UPDATE vpcs SET region_id = 'cn-beijing' WHERE id = 'vpc-2'",
    # A membership removed; an address released (which unbinds eip-1); an address moved.
    "DELETE FROM eni_security_groups WHERE eni_id = 'eni-2' AND security_group_id = 'sg-2'",
    "DELETE FROM private_ips WHERE vswitch_id = 'vsw-1' AND ip = 167772167",
    "UPDATE private_ips SET vswitch_id = 'vsw-2' WHERE owner = 'eni-2' AND kind = 'primary'",
    "DELETE FROM ipv6_addrs WHERE owner = 'eni-2' AND is_prefix = FALSE",
    # An ENI deleted (its memberships go by cascade), with what it held.
    "DELETE FROM private_ips WHERE owner = 'eni-2'",
    "DELETE FROM ipv6_addrs WHERE owner = 'eni-2'",
    "DELETE FROM enis WHERE id = 'eni-2'",
    "DELETE FROM eips WHERE id = 'eip-2'",
    "DELETE FROM eips WHERE id = 'eip-3'",
    "DELETE FROM security_group_rules WHERE id = 'sgr-2'",
    # A vSwitch that held an address, then deleted; its VPC too.
    "INSERT INTO private_ips (vswitch_id, ip, owner, kind) VALUES ('vsw-3', 2886729738, 'x', 'secondary')",
    "DELETE FROM private_ips WHERE vswitch_id = 'vsw-3'",
    "DELETE FROM vswitches WHERE id = 'vsw-3'",
    "DELETE FROM vpcs WHERE id = 'vpc-2'",
    # Statements over several rows.
    eni('eni-4', 'vsw-2', 'Secondary', 'Available', 'NULL', 'NULL', 'NULL', '00:16:3e:00:00:04',
        167772423, 'rg-1', '[["k","v"]]'),
    member('eni-4', 0, 'sg-1', 'TRUE'),
    member('eni-4', 1, 'sg-2', 'TRUE'),
    "UPDATE enis SET status = 'InUse', due_at = NULL WHERE account_id = 1",
    "UPDATE enis SET vswitch_id = 'vsw-1', tags = '[]' WHERE account_id = 1 AND vswitch_id = 'vsw-2'",
    "DELETE FROM eni_security_groups WHERE security_group_id = 'sg-2'",
    "DELETE FROM eni_security_groups WHERE eni_id = 'eni-1'",
    "DELETE FROM instances WHERE id = 'i-1'",
]

COUNTER_TABLES = ['counters', 'resource_counts', 'eni_counts', 'vswitch_ip_counts', 'eni_tags',
                  'dataplane_changes']


def check_writes(url, lite, bool_cols):
    print('\n== the same writes on both: every table compared ==')
    for i, st in enumerate(WRITES):
        try:
            lite.execute(st)
        except sqlite3.Error as e:
            fail('SQLite refused write %d (%s): %s' % (i, e, st))
            return
    rc, _, err = psql(url, ';\n'.join(WRITES) + ';\n')
    if rc != 0:
        fail('PostgreSQL refused a write: %s' % err.strip())
        return
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    same = 0
    for t in tables:
        cur = lite.execute('SELECT * FROM "%s"' % t)
        cols = [d[0] for d in cur.description]
        lrows = Counter(tuple(bool(v) if (t, c) in bool_cols and v is not None else v
                              for c, v in zip(cols, row)) for row in cur.fetchall())
        prows = Counter(tuple(r[c] for c in cols) for r in pg_rows(url, 'SELECT * FROM "%s"' % t))
        if lrows != prows:
            fail('table %s differs (columns %s)' % (t, ', '.join(cols)))
            for row in sorted(lrows - prows, key=repr):
                print('    only SQLite:     %s' % (row,))
            for row in sorted(prows - lrows, key=repr):
                print('    only PostgreSQL: %s' % (row,))
        else:
            same += 1
    if same == len(tables):
        ok('%d statements; all %d tables hold the same rows in both' % (len(WRITES), len(tables)))
    for t in COUNTER_TABLES:
        rows = pg_rows(url, 'SELECT * FROM %s ORDER BY 1, 2' % t)
        print('    %s (%d rows): %s' % (t, len(rows), '; '.join(
            ' '.join(str(v) for v in r.values()) for r in rows)))
    eips = pg_rows(url, 'SELECT id, status, eni_id, private_ip FROM eips ORDER BY id')
    print('    eips: %s' % '; '.join(' '.join(str(v) for v in r.values()) for r in eips))


# ---------------------------------------------------------------------------------------------
# 5. Violations reported under SQLite's names
# ---------------------------------------------------------------------------------------------

NEG = [
    # (what, setup statements, offending statement, SQLSTATE, constraint names accepted,
    #  what SQLite's message must contain)
    ('non-canonical MAC', [],
     eni('eni-x', 'vsw-1', 'Secondary', 'Available', 'NULL', 'NULL', 'NULL', '00:16:3E:00:00:09',
         167772200, 'rg-1', '[]'), '23514', {'eni_mac_canonical'}, 'eni_mac_canonical'),
    ('MAC taken', [],
     eni('eni-x', 'vsw-1', 'Secondary', 'Available', 'NULL', 'NULL', 'NULL', '00:16:3e:00:00:01',
         167772200, 'rg-1', '[]'), '23505', {'eni_mac_unique'}, 'UNIQUE constraint failed: enis.mac'),
    ('device index taken', [],
     eni('eni-x', 'vsw-1', 'Secondary', 'Available', 'NULL', "'i-1'", '1', '00:16:3e:00:00:09',
         167772200, 'rg-1', '[]'),
     '23505', {'eni_instance_device_index_unique'},
     'UNIQUE constraint failed: enis.instance_id, enis.device_index'),
    ('tags not an array', [],
     eni('eni-x', 'vsw-1', 'Secondary', 'Available', 'NULL', 'NULL', 'NULL', '00:16:3e:00:00:09',
         167772200, 'rg-1', '{}'), '23514', {'eni_tags_json_array'}, 'eni_tags_json_array'),
    ('device index beyond u32', [],
     eni('eni-x', 'vsw-1', 'Secondary', 'Available', 'NULL', "'i-9'", '4294967296',
         '00:16:3e:00:00:09', 167772200, 'rg-1', '[]'),
     '23514', {'eni_device_index_u32'}, 'eni_device_index_u32'),
    ('IPv6 block without ISP', [],
     "INSERT INTO vpcs (%s) VALUES ('vpc-x', 1, %s, '10.0.0.0/8', '2408:4005:3eb::/56', NULL, '', '', "
     "'Available', FALSE, 'vrt-x', 'vtb-x', 'rg-1', '[]', 1)" % (VPC_COLS, R),
     '23514', {'vpc_ipv6_block_has_isp'}, 'vpc_ipv6_block_has_isp'),
    ('ISP without IPv6 block', [],
     "INSERT INTO vpcs (%s) VALUES ('vpc-x', 1, %s, '10.0.0.0/8', NULL, 'BGP', '', '', "
     "'Available', FALSE, 'vrt-x', 'vtb-x', 'rg-1', '[]', 1)" % (VPC_COLS, R),
     '23514', {'vpc_ipv6_isp_only_with_block'}, 'vpc_ipv6_isp_only_with_block'),
    ('address inside a held /80 prefix', [ipv6('vsw-1', '2408:4005:3ea:ff00:5::/80', 'a', 'TRUE')],
     ipv6('vsw-1', '2408:4005:3ea:ff00:5::1', 'b', 'FALSE'),
     '23P01', {'ipv6_prefix_overlap'}, 'ipv6_prefix_overlap'),
    ('prefix over a held address', [ipv6('vsw-1', '2408:4005:3ea:ff00:6::1', 'a', 'FALSE')],
     ipv6('vsw-1', '2408:4005:3ea:ff00:6::/80', 'b', 'TRUE'),
     '23P01', {'ipv6_prefix_overlap'}, 'ipv6_prefix_overlap'),
    ('the same prefix twice (a duplicate, not an overlap)',
     [ipv6('vsw-1', '2408:4005:3ea:ff00:8::/80', 'a', 'TRUE')],
     ipv6('vsw-1', '2408:4005:3ea:ff00:8::/80', 'b', 'TRUE'),
     '23505', {'ipv6_vswitch_addr_unique'}, 'UNIQUE constraint failed: ipv6_addrs.vswitch_id, ipv6_addrs.addr'),
    ('a length on an address', [],
     "INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net) VALUES "
     "('vsw-1', '2408:4005:3ea:ff00:9::1/80', 'a', FALSE, '2408:4005:3ea:ff00:9::/80')",
     '23514', {'ipv6_prefix_has_length'}, 'ipv6_prefix_has_length'),
    ('a /64 prefix', [],
     "INSERT INTO ipv6_addrs (vswitch_id, addr, owner, is_prefix, net) VALUES "
     "('vsw-1', '2408::/64', 'a', TRUE, '2408::/64')",
     '23514', {'ipv6_net_is_a_80'}, 'ipv6_net_is_a_80'),
    ('IPv4 beyond 32 bits', [],
     "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-1', 4294967296, 'x')",
     '23514', {'private_ip_ipv4_range'}, 'private_ip_ipv4_range'),
    ('private IP taken', [],
     "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-1', 167772165, 'x')",
     '23505', {'private_ip_vswitch_ip_unique'}, 'UNIQUE constraint failed: private_ips.vswitch_id, private_ips.ip'),
    ('private IP in no vSwitch', [],
     "INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-none', 1, 'x')",
     '23503', {'private_ip_vswitch_fk'}, 'FOREIGN KEY constraint failed'),
    ('VPC with vSwitches deleted', [], "DELETE FROM vpcs WHERE id = 'vpc-1'",
     '23503', {'vswitch_vpc_fk', 'security_group_vpc_fk'}, 'FOREIGN KEY constraint failed'),
    ('group with members deleted', [], "DELETE FROM security_groups WHERE id = 'sg-1'",
     '23503', {'eni_security_group_sg_fk'}, 'FOREIGN KEY constraint failed'),
    ('rule with two remote sides', [],
     "INSERT INTO security_group_rules (%s) VALUES ('sgr-x', 'sg-1', 'ingress', 'TCP', 80, 80, '', "
     "'0.0.0.0/0', '::/0', '', '', NULL, '', 'Accept', 1, 'intranet', '', 1)" % RULE_COLS,
     '23514', {'security_group_rule_one_remote'}, 'security_group_rule_one_remote'),
    ('half a binding', [], "UPDATE eips SET mode = 'NAT' WHERE id = 'eip-1'",
     '23514', {'eip_binding_complete'}, 'eip_binding_complete'),
    ('unbound EIP in use', [], "UPDATE eips SET status = 'InUse' WHERE id = 'eip-1'",
     '23514', {'eip_bound_unless_available'}, 'eip_bound_unless_available'),
    ('an unknown EIP mode', [], "UPDATE eips SET forward_mode = 'DIRECT' WHERE id = 'eip-1'",
     '23514', {'eip_forward_mode_valid'}, 'eip_forward_mode_valid'),
    ('a negative counter', [], "UPDATE counters SET value = -1",
     '23514', {'counter_value_non_negative'}, 'counter_value_non_negative'),
    ('a second host of one name in one zone', [],
     "INSERT INTO hosts (%s) VALUES ('dh-x', 'node-a', %s, '192.0.2.3', 1, 1, 1)" % (HOST_COLS, ZONE),
     '23505', {'host_name_zone_unique'}, 'UNIQUE constraint failed: hosts.name, hosts.zone_id'),
    ('host capacity beyond u32', [],
     "INSERT INTO hosts (%s) VALUES ('dh-x', 'node-x', %s, '192.0.2.3', 4294967296, 1, 1)"
     % (HOST_COLS, ZONE), '23514', {'host_capacity_u32'}, 'host_capacity_u32'),
]


def check_violations(url, lite):
    print('\n== violations carry SQLite\'s constraint names ==')
    good = 0
    for what, setup, bad, state, names, lite_msg in NEG:
        script = 'BEGIN;\n' + ''.join(s + ';\n' for s in setup) + bad + ';\nROLLBACK;\n'
        rc, _, err = psql(url, script, verbose=True)
        got_state = re.search(r'ERROR:\s+([0-9A-Z]{5}):', err)
        got_name = re.search(r'CONSTRAINT NAME:\s+(\S+)', err)
        got = (got_state and got_state.group(1), got_name and got_name.group(1))
        passed = True
        if rc == 0 or got[0] != state or got[1] not in names:
            fail('%s: PostgreSQL should fail with %s under %s, got %s %s'
                 % (what, state, '/'.join(sorted(names)), got, err.strip().splitlines()[:1]))
            passed = False
        lite.execute('SAVEPOINT neg')
        try:
            for s in setup:
                lite.execute(s)
            try:
                lite.execute(bad)
                fail('%s: SQLite accepted it' % what)
                passed = False
            except sqlite3.IntegrityError as e:
                if lite_msg and lite_msg not in str(e):
                    fail('%s: SQLite says %r, expected %r' % (what, str(e), lite_msg))
                    passed = False
        finally:
            lite.execute('ROLLBACK TO neg')
            lite.execute('RELEASE neg')
        if passed:
            good += 1
            print('ok:     %-52s %s %s' % (what, got[0], got[1]))
    if good == len(NEG):
        ok('%d violations: refused by both, PostgreSQL reports SQLSTATE and constraint name' % len(NEG))


# ---------------------------------------------------------------------------------------------
# 6. Concurrent writers (no global write lock here: the schema alone must keep things exact)
# ---------------------------------------------------------------------------------------------

def check_concurrency(url):
    print('\n== concurrent writers ==')
    # VPC rows bump no generation, so nothing else serializes their writers; private_ips and
    # membership writers also queue on the generation's row.
    sessions, rounds = 4, 40
    rc, _, err = psql(url, """
        INSERT INTO enis (%s)
        SELECT 'cc-eni-' || g, 1, %s, %s, 'vpc-1', 'vsw-1', 'Secondary', 'Available', NULL, NULL,
               NULL, '02:00:00:00:' || lpad(to_hex(g / 256), 2, '0') || ':' || lpad(to_hex(g %% 256), 2, '0'),
               167780000 + g, '', '', FALSE, TRUE, 1, 'Standard', 'rg-1', '[]', 1
        FROM generate_series(0, %d) g;""" % (ENI_COLS, R, ZONE, sessions * rounds - 1))
    if rc != 0:
        fail('creating the ENIs of the concurrency check: %s' % err.strip())
        return
    before = pg_rows(url, "SELECT value FROM counters WHERE name = 'dataplane'")[0]['value']
    procs = []
    for s in range(sessions):
        lines = []
        for j in range(rounds):
            lines.append(member('cc-eni-%d' % (s * rounds + j), 0, 'sg-1', 'TRUE' if j % 2 else 'FALSE'))
            if j % 3 == 2:
                lines.append("DELETE FROM eni_security_groups WHERE eni_id = 'cc-eni-%d'" % (s * rounds + j - 1))
            vid = 'cc-vpc-%d-%d' % (s, j)
            lines.append("INSERT INTO vpcs (%s) VALUES ('%s', 7, 'cc-region', '10.0.0.0/8', NULL, "
                         "NULL, '', '', 'Available', FALSE, 'vrt', 'vtb', 'rg', '[]', 1)" % (VPC_COLS, vid))
            lines.append("INSERT INTO private_ips (vswitch_id, ip, owner) VALUES ('vsw-1', %d, '%s')"
                         % (100000 + s * 1000 + j, vid))
            if j % 3 == 2:
                lines.append("DELETE FROM vpcs WHERE id = 'cc-vpc-%d-%d'" % (s, j - 1))
                lines.append("DELETE FROM private_ips WHERE owner = 'cc-vpc-%d-%d'" % (s, j - 2))
        procs.append(subprocess.Popen(['psql', url, '-X', '-q', '-v', 'ON_ERROR_STOP=1'],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
        procs[-1].stdin.write(';\n'.join(lines) + ';\n')
    for p in procs:
        p.stdin.close()
    for p in procs:
        p.wait()
        err = p.stderr.read()
        if p.returncode != 0:
            fail('a concurrent session failed: %s' % err.strip())
    deletes = sessions * (rounds // 3)
    res = pg_rows(url, """
        SELECT (SELECT n FROM resource_counts WHERE account_id = 7 AND region_id = 'cc-region'
                AND kind = 'vpc') AS vpc_n,
               (SELECT count(*) FROM vpcs WHERE account_id = 7) AS vpcs,
               (SELECT n FROM vswitch_ip_counts WHERE vswitch_id = 'vsw-1') AS ip_n,
               (SELECT count(*) FROM private_ips WHERE vswitch_id = 'vsw-1') AS ips,
               (SELECT value FROM counters WHERE name = 'dataplane') AS generation,
               (SELECT n FROM eni_counts WHERE account_id = 1 AND region_id = %s
                AND dim = 'members' AND value = 'sg-1') AS members_n,
               (SELECT count(*) FROM eni_security_groups WHERE security_group_id = 'sg-1') AS members,
               (SELECT n FROM eni_counts WHERE account_id = 1 AND region_id = %s
                AND dim = 'sg' AND value = 'sg-1') AS sg_n,
               (SELECT count(*) FROM eni_security_groups WHERE security_group_id = 'sg-1'
                AND counted) AS sg""" % (R, R))[0]
    # One per address and one per membership inserted or deleted.
    want_gen = before + 2 * (sessions * rounds + deletes)
    if (res['vpc_n'], res['ip_n'], res['generation'], res['members_n'], res['sg_n']) != \
            (res['vpcs'], res['ips'], want_gen, res['members'], res['sg']) \
            or res['vpcs'] != sessions * rounds - deletes:
        fail('counts drifted under %d concurrent sessions: %s (generation should be %d)'
             % (sessions, res, want_gen))
    else:
        ok('%d sessions x %d statements at once: resource_counts %d = %d VPCs, vswitch_ip_counts '
           '%d = %d addresses, eni_counts members %d = %d and sg %d = %d memberships, '
           'generation +%d (one per address or membership inserted or deleted)'
           % (sessions, len(lines), res['vpc_n'], res['vpcs'], res['ip_n'], res['ips'],
              res['members_n'], res['members'], res['sg_n'], res['sg'], res['generation'] - before))
    # The /80 rule between two transactions that overlap in time: the second inserter waits
    # for the first to commit, then sees its row.
    first = subprocess.Popen(['psql', url, '-X', '-q', '-v', 'ON_ERROR_STOP=1'], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first.stdin.write('BEGIN;\n%s;\nSELECT pg_sleep(1.5);\nCOMMIT;\n'
                      % ipv6('vsw-1', '2408:4005:3ea:ff00:77::/80', 'a', 'TRUE'))
    first.stdin.close()
    time.sleep(0.5)
    rc, _, err = psql(url, ipv6('vsw-1', '2408:4005:3ea:ff00:77::1', 'b', 'FALSE') + ';\n',
                      verbose=True)
    first.wait()
    if first.returncode != 0:
        fail('the first concurrent IPv6 insert failed: %s' % first.stderr.read())
    elif rc == 0 or 'CONSTRAINT NAME:  ipv6_prefix_overlap' not in err:
        fail('an address went into a /80 a concurrent transaction took as a prefix: rc %d %s'
             % (rc, err.strip()))
    else:
        ok('ipv6_prefix_overlap holds between two concurrent transactions')


# ---------------------------------------------------------------------------------------------

def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    admin = sys.argv[1]
    db = 'schema_check_%d_%d' % (os.getpid(), int(time.time()))
    url = with_database(admin, db)
    rc, _, err = psql(admin, 'CREATE DATABASE %s;\n' % db)
    if rc != 0:
        print('cannot create the scratch database %s: %s' % (db, err.strip()), file=sys.stderr)
        return 1
    try:
        names = ', '.join(os.path.basename(f) for f in PG_MIGRATIONS)
        print('== apply %s to %s ==' % (names, db))
        files = [a for f in PG_MIGRATIONS for a in ('-f', f)]
        p = subprocess.run(['psql', url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction']
                           + files, capture_output=True, text=True)
        if p.returncode != 0 or 'ERROR' in p.stderr:
            fail('the migrations do not apply: %s' % p.stderr.strip())
            return 1
        ok('applied in one transaction, no errors')
        lite = sqlite_database()
        ok('SQLite %s: applied %s 0001-%04d' % (sqlite3.sqlite_version, os.path.relpath(SQLITE_MIGRATIONS),
                                                 SQLITE_COVERED))
        bool_cols = compare_schemas(sqlite_schema(lite), pg_schema(url))
        check_net80(url)
        check_writes(url, lite, bool_cols)
        check_violations(url, lite)
        check_concurrency(url)
    finally:
        rc, _, err = psql(admin, 'DROP DATABASE IF EXISTS %s WITH (FORCE);\n' % db)
        if rc != 0:
            print('could not drop %s: %s' % (db, err.strip()), file=sys.stderr)
        else:
            print('\n(dropped %s)' % db)
    if FAILURES:
        print('\n%d FAILURE(S)' % len(FAILURES))
        return 1
    print('\nALL CHECKS PASSED')
    return 0


if __name__ == '__main__':
    sys.exit(main())
