"""What COMMAND INFO and COMMAND DOCS show of the stream commands beyond the table: key specs,
arguments, complexity and history, as Redis 7.0's command files give them.

Data only, applied to the registered entries when imported: the package imports it after the
command modules.
"""

from __future__ import annotations

from ...protocol.replies import SetReply
from .. import registry


def _a(name, type_, key=None, token=None, since=None, flags=None, args=None) -> dict:
    """One COMMAND DOCS argument, its fields in Redis's order."""
    out = {"name": name, "type": type_}
    if key is not None:
        out["key_spec_index"] = key
    if token is not None:
        out["token"] = token
    if since is not None:
        out["since"] = since
    if flags:
        out["flags"] = flags.split()
    if args:
        out["arguments"] = args
    return out


def _key_spec(flags: str, index: int = 0, keyword: bytes = b"", startfrom: int = 0,
              lastkey: int = 0, limit: int = 0, notes: bytes = b"") -> dict:
    if keyword:
        begin = {b"type": b"keyword", b"spec": {b"keyword": keyword, b"startfrom": startfrom}}
    else:
        begin = {b"type": b"index", b"spec": {b"index": index}}
    spec = {b"notes": notes} if notes else {}
    spec[b"flags"] = SetReply(flags.split())
    spec[b"begin_search"] = begin
    spec[b"find_keys"] = {b"type": b"range",
                          b"spec": {b"lastkey": lastkey, b"keystep": 1, b"limit": limit}}
    return spec


_KEY_SPECS = {
    "xadd": _key_spec("RW update", 1,
                      notes=b"UPDATE instead of INSERT because of the optional trimming feature"),
    "xtrim": _key_spec("RW delete", 1),
    "xdel": _key_spec("RW delete", 1),
    "xlen": _key_spec("RO", 1),
    "xread": _key_spec("RO access", keyword=b"STREAMS", startfrom=1, lastkey=-1, limit=2),
    "xreadgroup": _key_spec("RO access", keyword=b"STREAMS", startfrom=4, lastkey=-1, limit=2),
    "xautoclaim": _key_spec("RW delete", 1),
    "xgroup|create": _key_spec("RW insert", 2),
    "xgroup|destroy": _key_spec("RW delete", 2),
    "xgroup|createconsumer": _key_spec("RW insert", 2),
    "xgroup|delconsumer": _key_spec("RW delete", 2),
}

_DOC_ARGS = {
    'xadd': [
        _a('key', 'key', key=0),
        _a('nomkstream', 'pure-token', token='NOMKSTREAM', since='6.2.0', flags='optional'),
        _a('trim', 'block', flags='optional', args=[
            _a('strategy', 'oneof', args=[
                _a('maxlen', 'pure-token', token='MAXLEN'),
                _a('minid', 'pure-token', token='MINID', since='6.2.0'),
            ]),
            _a('operator', 'oneof', flags='optional', args=[
                _a('equal', 'pure-token', token='='),
                _a('approximately', 'pure-token', token='~'),
            ]),
            _a('threshold', 'string'),
            _a('count', 'integer', token='LIMIT', since='6.2.0', flags='optional'),
        ]),
        _a('id_or_auto', 'oneof', args=[
            _a('auto_id', 'pure-token', token='*'),
            _a('id', 'string'),
        ]),
        _a('field_value', 'block', flags='multiple', args=[
            _a('field', 'string'),
            _a('value', 'string'),
        ]),
    ],
    'xtrim': [
        _a('key', 'key', key=0),
        _a('trim', 'block', args=[
            _a('strategy', 'oneof', args=[
                _a('maxlen', 'pure-token', token='MAXLEN'),
                _a('minid', 'pure-token', token='MINID', since='6.2.0'),
            ]),
            _a('operator', 'oneof', flags='optional', args=[
                _a('equal', 'pure-token', token='='),
                _a('approximately', 'pure-token', token='~'),
            ]),
            _a('threshold', 'string'),
            _a('count', 'integer', token='LIMIT', since='6.2.0', flags='optional'),
        ]),
    ],
    'xdel': [
        _a('key', 'key', key=0),
        _a('id', 'string', flags='multiple'),
    ],
    'xlen': [
        _a('key', 'key', key=0),
    ],
    'xrange': [
        _a('key', 'key', key=0),
        _a('start', 'string'),
        _a('end', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
    ],
    'xrevrange': [
        _a('key', 'key', key=0),
        _a('end', 'string'),
        _a('start', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
    ],
    'xread': [
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('milliseconds', 'integer', token='BLOCK', flags='optional'),
        _a('streams', 'block', token='STREAMS', args=[
            _a('key', 'key', key=0, flags='multiple'),
            _a('id', 'string', flags='multiple'),
        ]),
    ],
    'xreadgroup': [
        _a('group_consumer', 'block', token='GROUP', args=[
            _a('group', 'string'),
            _a('consumer', 'string'),
        ]),
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('milliseconds', 'integer', token='BLOCK', flags='optional'),
        _a('noack', 'pure-token', token='NOACK', flags='optional'),
        _a('streams', 'block', token='STREAMS', args=[
            _a('key', 'key', key=0, flags='multiple'),
            _a('id', 'string', flags='multiple'),
        ]),
    ],
    'xack': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('id', 'string', flags='multiple'),
    ],
    'xpending': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('filters', 'block', flags='optional', args=[
            _a('min-idle-time', 'integer', token='IDLE', since='6.2.0', flags='optional'),
            _a('start', 'string'),
            _a('end', 'string'),
            _a('count', 'integer'),
            _a('consumer', 'string', flags='optional'),
        ]),
    ],
    'xclaim': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('consumer', 'string'),
        _a('min-idle-time', 'string'),
        _a('id', 'string', flags='multiple'),
        _a('ms', 'integer', token='IDLE', flags='optional'),
        _a('unix-time-milliseconds', 'unix-time', token='TIME', flags='optional'),
        _a('count', 'integer', token='RETRYCOUNT', flags='optional'),
        _a('force', 'pure-token', token='FORCE', flags='optional'),
        _a('justid', 'pure-token', token='JUSTID', flags='optional'),
        _a('id', 'string', token='LASTID', flags='optional'),
    ],
    'xautoclaim': [
        _a('key', 'key', key=0),
        _a('group', 'string'),
        _a('consumer', 'string'),
        _a('min-idle-time', 'string'),
        _a('start', 'string'),
        _a('count', 'integer', token='COUNT', flags='optional'),
        _a('justid', 'pure-token', token='JUSTID', flags='optional'),
    ],
    'xsetid': [
        _a('key', 'key', key=0),
        _a('last-id', 'string'),
        _a('entries_added', 'integer', token='ENTRIESADDED', since='7.0.0', flags='optional'),
        _a('max_deleted_entry_id', 'string', token='MAXDELETEDID', since='7.0.0', flags='optional'),
    ],
    'xgroup|create': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('id', 'oneof', args=[
            _a('id', 'string'),
            _a('new_id', 'pure-token', token='$'),
        ]),
        _a('mkstream', 'pure-token', token='MKSTREAM', flags='optional'),
        _a('entries_read', 'integer', token='ENTRIESREAD', flags='optional'),
    ],
    'xgroup|setid': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('id', 'oneof', args=[
            _a('id', 'string'),
            _a('new_id', 'pure-token', token='$'),
        ]),
        _a('entries_read', 'integer', token='ENTRIESREAD', flags='optional'),
    ],
    'xgroup|destroy': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
    ],
    'xgroup|createconsumer': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('consumername', 'string'),
    ],
    'xgroup|delconsumer': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
        _a('consumername', 'string'),
    ],
    'xinfo|stream': [
        _a('key', 'key', key=0),
        _a('full', 'block', token='FULL', flags='optional', args=[
            _a('count', 'integer', token='COUNT', flags='optional'),
        ]),
    ],
    'xinfo|groups': [
        _a('key', 'key', key=0),
    ],
    'xinfo|consumers': [
        _a('key', 'key', key=0),
        _a('groupname', 'string'),
    ],
}

_DOCS = {
    'xadd': (
        'Appends a new entry to a stream',
        'O(1) when adding a new entry, O(N) when trimming where N being the number of entries '
        'evicted.',
        [
            ('6.2.0', 'Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` '
                    'option.'),
            ('7.0.0', 'Added support for the `<ms>-*` explicit ID form.'),
        ],
    ),
    'xtrim': (
        "Trims the stream to (approximately if '~' is passed) a certain size",
        'O(N), with N being the number of evicted entries. Constant times are very small '
        'however, since entries are organized in macro nodes containing multiple entries that '
        'can be released with a single deallocation.',
        [
            ('6.2.0', 'Added the `MINID` trimming strategy and the `LIMIT` option.'),
        ],
    ),
    'xdel': (
        'Removes the specified entries from the stream. Returns the number of items actually '
        'deleted, that may be different from the number of IDs passed in case certain IDs do '
        'not exist.',
        'O(1) for each single item to delete in the stream, regardless of the stream size.',
        None,
    ),
    'xlen': (
        'Return the number of entries in a stream',
        'O(1)',
        None,
    ),
    'xrange': (
        'Return a range of elements in a stream, with IDs matching the specified IDs interval',
        'O(N) with N being the number of elements being returned. If N is constant (e.g. '
        'always asking for the first 10 elements with COUNT), you can consider it O(1).',
        [
            ('6.2.0', 'Added exclusive ranges.'),
        ],
    ),
    'xrevrange': (
        'Return a range of elements in a stream, with IDs matching the specified IDs interval, '
        'in reverse order (from greater to smaller IDs) compared to XRANGE',
        'O(N) with N being the number of elements returned. If N is constant (e.g. always '
        'asking for the first 10 elements with COUNT), you can consider it O(1).',
        [
            ('6.2.0', 'Added exclusive ranges.'),
        ],
    ),
    'xread': (
        'Return never seen elements in multiple streams, with IDs greater than the ones '
        'reported by the caller for each stream. Can block.',
        'For each stream mentioned: O(N) with N being the number of elements being returned, '
        'it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option '
        'is used, XADD will pay O(M) time in order to serve the M clients blocked on the '
        'stream getting new data.',
        None,
    ),
    'xreadgroup': (
        'Return new entries from a stream using a consumer group, or access the history of the '
        'pending entries for a given consumer. Can block.',
        'For each stream mentioned: O(M) with M being the number of elements returned. If M is '
        'constant (e.g. always asking for the first 10 elements with COUNT), you can consider '
        'it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in '
        'order to serve the N clients blocked on the stream getting new data.',
        None,
    ),
    'xack': (
        'Marks a pending message as correctly processed, effectively removing it from the '
        'pending entries list of the consumer group. Return value of the command is the number '
        'of messages successfully acknowledged, that is, the IDs we were actually able to '
        'resolve in the PEL.',
        'O(1) for each message ID processed.',
        None,
    ),
    'xpending': (
        'Return information and entries from a stream consumer group pending entries list, '
        'that are messages fetched but never acknowledged.',
        'O(N) with N being the number of elements returned, so asking for a small fixed number '
        'of entries per call is O(1). O(M), where M is the total number of entries scanned '
        'when used with the IDLE filter. When the command returns just the summary and the '
        'list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time '
        'for iterating every consumer.',
        [
            ('6.2.0', 'Added the `IDLE` option and exclusive range intervals.'),
        ],
    ),
    'xclaim': (
        'Changes (or acquires) ownership of a message in a consumer group, as if the message '
        'was delivered to the specified consumer.',
        'O(log N) with N being the number of messages in the PEL of the consumer group.',
        None,
    ),
    'xautoclaim': (
        'Changes (or acquires) ownership of messages in a consumer group, as if the messages '
        'were delivered to the specified consumer.',
        'O(1) if COUNT is small.',
        [
            ('7.0.0', 'Added an element to the reply array, containing deleted entries the '
                    'command cleared from the PEL'),
        ],
    ),
    'xsetid': (
        'An internal command for replicating stream values',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries_added` and `max_deleted_entry_id` arguments.'),
        ],
    ),
    'xgroup|create': (
        'Create a consumer group.',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries_read` named argument.'),
        ],
    ),
    'xgroup|setid': (
        'Set a consumer group to an arbitrary last delivered ID value.',
        'O(1)',
        [
            ('7.0.0', 'Added the optional `entries_read` argument.'),
        ],
    ),
    'xgroup|destroy': (
        'Destroy a consumer group.',
        "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        None,
    ),
    'xgroup|createconsumer': (
        'Create a consumer in a consumer group.',
        'O(1)',
        None,
    ),
    'xgroup|delconsumer': (
        'Delete a consumer from a consumer group.',
        'O(1)',
        None,
    ),
    'xgroup|help': (
        'Show helpful text about the different subcommands',
        'O(1)',
        None,
    ),
    'xinfo|stream': (
        'Get information about a stream',
        'O(1)',
        [
            ('6.0.0', 'Added the `FULL` modifier.'),
            ('7.0.0', 'Added the `max-deleted-entry-id`, `entries-added`, '
                    '`recorded-first-entry-id`, `entries-read` and `lag` fields'),
        ],
    ),
    'xinfo|groups': (
        'List the consumer groups of a stream',
        'O(1)',
        [
            ('7.0.0', 'Added the `entries-read` and `lag` fields'),
        ],
    ),
    'xinfo|consumers': (
        'List the consumers in a consumer group',
        'O(1)',
        None,
    ),
    'xinfo|help': (
        'Show helpful text about the different subcommands',
        'O(1)',
        None,
    ),
}




def _document() -> None:
    for name, (summary, complexity, history) in _DOCS.items():
        cmd = registry.BY_NAME[name]
        cmd.summary = summary
        cmd.complexity = complexity
        if history:
            cmd.history = [list(h) for h in history]
        cmd.doc_args = _DOC_ARGS.get(name, [])
    for name, spec in _KEY_SPECS.items():
        registry.BY_NAME[name].key_specs = [spec]
    for name in ("xgroup", "xinfo"):
        registry.BY_NAME[name].complexity = "Depends on subcommand."


_document()
