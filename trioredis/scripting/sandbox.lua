-- Redis's Lua sandbox on a stock Lua 5.1 (lupa), run once per Lua state.
--
-- Redis patches its Lua with read-only tables; stock Lua has none, so the globals table gets a
-- metatable that refuses new globals and reads of missing ones, and every library table the
-- scripts see (redis, string, math, table, cjson, ...) is a proxy whose writes fail. The
-- builtins that could get around that (setmetatable, rawset, rawget, next, pairs, ipairs) are
-- wrapped to see through the proxies and refuse to change them. The Python callables stay
-- upvalues of closures defined here: no script can reach a Python object.
--
-- Called with: py (a table of Python callables), mode ("eval" or "function").
-- Returns a table of internal helpers for Python (never visible to scripts).
local py, mode = ...

local G = _G
local type, error, rawget, rawset, rawequal = type, error, rawget, rawset, rawequal
local setmetatable, getmetatable, next, tostring = setmetatable, getmetatable, next, tostring
local select, unpack, pcall, xpcall = select, unpack, pcall, xpcall
local sformat, sbyte, concat = string.format, string.byte, table.concat
local floor = math.floor
local dbg = debug
local sethook, getinfo = debug.sethook, debug.getinfo

local py_unwrap = py.unwrap
local script_resp = 2  -- redis.setresp of the current run
local TABLE_ERROR, LIB_ERROR = 1, 2
local READONLY = "Attempt to modify a readonly table"
local internal = {}

-- Proxies: proxy -> real table, and the set of tables no script may change.
local real_of = setmetatable({}, {__mode = "k"})
local protected = setmetatable({}, {__mode = "k"})

local function readonly_error() error(READONLY, 3) end

local function protect(t)
    local proxy = {}
    local mt = {__index = t, __newindex = function() error(READONLY, 2) end}
    local mt_proxy = setmetatable({}, {__index = mt, __newindex = function() error(READONLY, 2) end})
    mt.__metatable = mt_proxy
    setmetatable(proxy, mt)
    real_of[proxy] = t
    protected[proxy] = true
    protected[mt_proxy] = true
    real_of[mt_proxy] = mt
    return proxy
end
internal.protect = protect

-- Builtins that would otherwise go around the proxies.
G.setmetatable = function(t, mt)
    if protected[t] then readonly_error() end
    return setmetatable(t, mt)
end
G.rawset = function(t, k, v)
    if protected[t] then readonly_error() end
    return rawset(t, k, v)
end
G.rawget = function(t, k)
    local r = real_of[t]
    if r then return rawget(r, k) end
    return rawget(t, k)
end
local function see_through_next(t, k)
    return next(real_of[t] or t, k)
end
G.next = see_through_next
G.pairs = function(t)
    if type(t) ~= "table" then error("bad argument #1 to 'pairs' (table expected, got " .. type(t) .. ")", 2) end
    return see_through_next, t, nil
end
local function ipairs_iter(t, i)
    i = i + 1
    local v = t[i]
    if v == nil then return nil end
    return i, v
end
G.ipairs = function(t)
    if type(t) ~= "table" then error("bad argument #1 to 'ipairs' (table expected, got " .. type(t) .. ")", 2) end
    return ipairs_iter, real_of[t] or t, 0
end

-- Redis's pcall: an error table {err=...} comes back as its message (Redis 7 compatibility).
local function pcall_result(ok, ...)
    if ok then return true, ... end
    local e = ...
    if type(e) == "userdata" then
        local kind, msg = py_unwrap(e)
        if kind then return false, msg end
    end
    if type(e) == "table" then
        local m = e.err
        if type(m) == "string" or type(m) == "number" then return false, m end
    end
    return false, e
end
G.pcall = function(f, ...) return pcall_result(pcall(f, ...)) end

-- Remove what Redis does not load or deletes.
for _, name in ipairs({"io", "os", "package", "require", "module", "loadfile", "dofile",
                       "print", "python", "debug", "load_with_env"}) do
    rawset(G, name, nil)
end
-- Redis keeps unpack/loadstring; loadstring refuses binary chunks (precompiled bytecode).
local loadstring = loadstring

-- math.random / math.randomseed: Redis's rand48, identical on every platform.
local py_random, py_randomseed = py.random, py.randomseed
math.random = function(...)
    local n = select("#", ...)
    local r = py_random()
    if n == 0 then return r end
    local l, u
    if n == 1 then
        l, u = 1, ...
    elseif n == 2 then
        l, u = ...
    else
        error("wrong number of arguments", 2)
    end
    if type(l) ~= "number" then l = tonumber(l) end
    if type(u) ~= "number" then u = tonumber(u) end
    if u == nil or l == nil then error("bad argument #" .. n .. " to 'random' (number expected)", 2) end
    -- luaL_checkint truncates toward zero
    l = l >= 0 and floor(l) or -floor(-l)
    u = u >= 0 and floor(u) or -floor(-u)
    if l > u then error("bad argument #" .. n .. " to 'random' (interval is empty)", 2) end
    return floor(r * (u - l + 1)) + l
end
math.randomseed = function(seed)
    local s = tonumber(seed)
    if s == nil then error("bad argument #1 to 'randomseed' (number expected, got " .. type(seed) .. ")", 2) end
    py_randomseed(s)
end

-- The 'redis' table. Its functions (and the libraries') are Python callables: called from Lua
-- they run as C functions would (a `return redis.call(...)` keeps the caller's frame, so
-- errors point at the script's line); their errors are Python exceptions that py.unwrap reads.
local redis = {}

-- Python objects keep lupa's metatable to themselves.
local pmt = getmetatable(py.call)
if type(pmt) == "table" then rawset(pmt, "__metatable", false) end

if mode == "eval" or mode == "function" then
    -- Lua closures (lupa's Python objects cannot take Redis's ~8000 arguments: a call with
    -- many passes them in a table).
    -- many are handed over in slices first, then the call takes them).
    local py_call, py_pcall, py_collect = py.call, py.pcall, py.collect
    local MANY, SLICE = 4000, 1000
    local function collect(n, ...)
        local t = {...}
        for i = 1, n, SLICE do py_collect(unpack(t, i, i + SLICE - 1 < n and i + SLICE - 1 or n)) end
    end
    redis.call = function(...)
        local n = select("#", ...)
        if n < MANY then return py_call(...) end
        collect(n, ...)
        return py_call()
    end
    redis.pcall = function(...)
        local n = select("#", ...)
        if n < MANY then return py_pcall(...) end
        collect(n, ...)
        return py_pcall()
    end
    -- The script's protocol is also kept here, for the conversion of its reply (run_script).
    local py_setresp = py.setresp
    redis.setresp = function(...)
        py_setresp(...)
        local n = tonumber((...))  -- Python has checked it: 2 <= n < 4
        script_resp = n >= 3 and 3 or 2
    end
    redis.set_repl = py.set_repl
    redis.acl_check_cmd = py.acl_check_cmd
    redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
    redis.replicate_commands = function() return true end
    redis.breakpoint = function() return false end
    redis.debug = function() end
end
redis.log = py.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.sha1hex = py.sha1hex
redis.error_reply = function(...)
    local n = select("#", ...)
    local e = ...
    if n ~= 1 or type(e) ~= "string" then return {err = "ERR wrong number or type of arguments"} end
    if sbyte(e, 1) ~= 45 then e = "-" .. e end  -- '-' added, so the first word is the code
    return {err = py.error_text(e)}
end
redis.status_reply = function(...)
    local n = select("#", ...)
    local s = ...
    if n ~= 1 or type(s) ~= "string" then return {err = "ERR wrong number or type of arguments"} end
    return {ok = s}
end
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num
-- Only the loading run of a library sees register_function (functions.py's load-time API):
-- a function that calls it at run time finds nil, as in Redis.
internal.register_function = py.register_function
internal.redis = redis

for _, name in ipairs({"cjson", "cmsgpack", "struct", "bit"}) do
    local lib = {}
    for k, v in next, py.libs[name] do lib[k] = v end
    rawset(G, name, lib)
end
local json_null = newproxy()
G.cjson.null = json_null
internal.json_null = json_null
function internal.is_json_null(v) return v == json_null end

-- The Python callables are userdata to Lua; scripts see them as the functions they stand for.
local pyfuncs = setmetatable({}, {__mode = "k"})
for _, t in ipairs({redis, G.cjson, G.cmsgpack, G.struct, G.bit}) do
    for _, v in next, t do
        if type(v) == "userdata" and v ~= json_null then pyfuncs[v] = true end
    end
end
G.type = function(...)
    if select("#", ...) == 0 then error("bad argument #1 to 'type' (value expected)", 2) end
    local v = ...
    if v ~= nil and pyfuncs[v] then return "function" end
    return type(v)
end

-- The error handler: {err=..., source=..., line=...} at the first frame of the user's code.
local function err_handler(e)
    local level, info = 2, nil
    while true do
        info = getinfo(level, "nSl")
        if info == nil then break end
        if info.what ~= "C" and info.source ~= "=sandbox" then break end
        level = level + 1
    end
    if type(e) == "userdata" then
        local kind, msg, ignore = py_unwrap(e)
        if kind == TABLE_ERROR then
            e = {err = msg, ignore_error_stats_update = ignore}
        elseif kind == LIB_ERROR then
            local where = info and (info.short_src .. ":" .. info.currentline .. ": ") or ""
            e = {err = "ERR " .. where .. msg}
        end
    end
    if type(e) ~= "table" then
        e = {err = "ERR " .. tostring(e)}
    end
    if info then
        e.source = info.source
        e.line = info.currentline
    end
    return e
end
G.__redis__err__handler = err_handler

-- Kill support: a count hook that asks Python whether to go on.
local py_interrupt = py.interrupt
local KILLED = "ERR Script killed by user with SCRIPT KILL..."
local hook
hook = function()
    local where = getinfo(2, "S")
    if where and where.source == "=sandbox" then return end  -- only ever stop the user's code
    local kill = py_interrupt()
    if kill then
        sethook(hook, "l")
        error({err = kill}, 0)
    end
end
function internal.hook_on(count) sethook(hook, "", count) end
function internal.hook_off() sethook() end

-- Protect the libraries and the globals.
for _, name in ipairs({"string", "math", "table", "coroutine", "cjson", "cmsgpack", "struct", "bit"}) do
    rawset(G, name, protect(rawget(G, name)))
end
rawset(G, "redis", protect(redis))
internal.redis_proxy = rawget(G, "redis")

local gmt = {}
gmt.__index = function(_, k)
    if k == "debug" then  -- lupa's C code looks up debug.traceback: it gets nil
        local w = getinfo(2, "S")
        if w == nil or w.what == "C" then return nil end
    end
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
gmt.__newindex = function() error(READONLY, 2) end
local gmt_proxy = setmetatable({}, {__index = gmt, __newindex = function() error(READONLY, 2) end})
protected[gmt_proxy] = true
real_of[gmt_proxy] = gmt
gmt.__metatable = gmt_proxy
protected[G] = true
setmetatable(G, gmt)

-- What scripts see as their globals: an empty proxy of G, so that assigning even an existing
-- global (`redis = ...`, `_G = {}`) fails as on Redis's read-only globals table; reads go to
-- G (and its __index for missing names). `_G` is the proxy.
local genv = {}
local genv_mt = {__index = G, __newindex = function() error(READONLY, 2) end, __metatable = gmt_proxy}
setmetatable(genv, genv_mt)
real_of[genv] = G
protected[genv] = true
rawset(G, "_G", genv)
internal.env = genv
local setfenv = setfenv
internal.setfenv = setfenv
-- User code: compiled, its tail calls made plain calls (so the sandbox's Lua closures never
-- replace the caller's frame: errors name the script's line, as with Redis's C functions; see
-- bytecode.py), with the scripts' globals.
local sdump, py_untail = string.dump, py.untail
local function load_user(s, name)
    local f, e = loadstring(s, name)
    if not f then return nil, e end
    f = loadstring(py_untail(sdump(f)), name)
    return setfenv(f, genv)
end
G.loadstring = function(s, name)
    if type(s) == "string" and sbyte(s, 1) == 27 then return nil end
    return load_user(s, name)
end

local load = load
G.load = function(fn, name)
    local f, e = load(fn, name)
    if not f then return nil, e end
    return setfenv(loadstring(py_untail(sdump(f)), name), genv)
end
-- Redis's scripts have no getfenv, setfenv or newproxy.
G.getfenv, G.setfenv, G.newproxy = nil, nil, nil

function internal.set_global(k, v) rawset(G, k, v) end

-- Compile a script body as Redis does (chunk name "@user_script"), with the scripts' globals.
function internal.compile(body, chunkname)
    return load_user(body, chunkname)
end

-- Run f (eval) or f(keys, args) (functions) under the error handler; (ok, value): only the
-- first value a script returns is its reply.
local function first(ok, v) return ok, v end
function internal.run(f, keys, args)
    if keys == nil then
        return first(xpcall(f, err_handler))
    end
    return first(xpcall(function() return f(keys, args) end, err_handler))
end

-- Lua -> RESP: Redis's luaReplyToRedisReply, reading tables with rawget.
local MAX_DEPTH = 3998
local function encode_reply(out, v, resp, script_resp, depth)
    local t = type(v)
    if t == "string" then
        out[#out + 1] = "$" .. #v .. "\r\n" .. v .. "\r\n"
    elseif t == "boolean" then
        if script_resp == 2 then
            out[#out + 1] = v and ":1\r\n" or (resp == 2 and "$-1\r\n" or "_\r\n")
        else
            out[#out + 1] = resp == 2 and (v and ":1\r\n" or ":0\r\n") or (v and "#t\r\n" or "#f\r\n")
        end
    elseif t == "number" then
        out[#out + 1] = ":" .. py.integer_text(v) .. "\r\n"
    elseif t == "table" then
        if depth > MAX_DEPTH then
            out[#out + 1] = "-ERR reached lua stack limit\r\n"
            return
        end
        local e = rawget(v, "err")
        if type(e) == "string" then
            out[#out + 1] = "-" .. e:gsub("[\r\n]", " ") .. "\r\n"
            return
        end
        local ok = rawget(v, "ok")
        if type(ok) == "string" then
            out[#out + 1] = "+" .. ok:gsub("[\r\n]", " ") .. "\r\n"
            return
        end
        local d = rawget(v, "double")
        if type(d) == "number" then
            local s = py.double_text(d)
            if resp == 2 then out[#out + 1] = "$" .. #s .. "\r\n" .. s .. "\r\n"
            else out[#out + 1] = "," .. s .. "\r\n" end
            return
        end
        local b = rawget(v, "big_number")
        if type(b) == "string" then
            b = b:gsub("[\r\n]", " ")
            if resp == 2 then out[#out + 1] = "$" .. #b .. "\r\n" .. b .. "\r\n"
            else out[#out + 1] = "(" .. b .. "\r\n" end
            return
        end
        local vs = rawget(v, "verbatim_string")
        if type(vs) == "table" then
            local fmt, s = rawget(vs, "format"), rawget(vs, "string")
            if type(fmt) == "string" and type(s) == "string" then
                if resp == 2 then out[#out + 1] = "$" .. #s .. "\r\n" .. s .. "\r\n"
                else
                    local body = fmt:sub(1, 3) .. ":" .. s
                    out[#out + 1] = "=" .. #body .. "\r\n" .. body .. "\r\n"
                end
                return
            end
        end
        local m = rawget(v, "map")
        if type(m) == "table" then
            local pos = #out + 1
            out[pos] = ""
            local n = 0
            for k, val in next, m do
                encode_reply(out, k, resp, script_resp, depth + 1)
                encode_reply(out, val, resp, script_resp, depth + 1)
                n = n + 1
            end
            out[pos] = resp == 2 and ("*" .. (2 * n) .. "\r\n") or ("%" .. n .. "\r\n")
            return
        end
        local st = rawget(v, "set")
        if type(st) == "table" then
            local pos = #out + 1
            out[pos] = ""
            local n = 0
            for k in next, st do
                encode_reply(out, k, resp, script_resp, depth + 1)
                n = n + 1
            end
            out[pos] = (resp == 2 and "*" or "~") .. n .. "\r\n"
            return
        end
        local pos = #out + 1
        out[pos] = ""
        local j = 1
        while true do
            local x = rawget(v, j)
            if x == nil then break end
            encode_reply(out, x, resp, script_resp, depth + 1)
            j = j + 1
        end
        out[pos] = "*" .. (j - 1) .. "\r\n"
    else
        out[#out + 1] = resp == 2 and "$-1\r\n" or "_\r\n"
    end
end

-- The reply of a script: (kind, value) with kind 2 (an error table: its fields), 1 (RESP
-- bytes), or 0 and the plain value for strings, numbers, nil and booleans (Python encodes
-- those). Kind 3 (run_script): the run failed, error_info's values follow.
function internal.reply(v, resp, script_resp)
    local t = type(v)
    if t == "table" then
        local e = rawget(v, "err")
        if type(e) == "string" then
            return 2, e, rawget(v, "source"), rawget(v, "line"), rawget(v, "ignore_error_stats_update")
        end
        local out = {}
        encode_reply(out, v, resp, script_resp, 1)
        return 1, concat(out)
    end
    return 0, v
end

-- Error values raised while loading a library or running: their text, as Redis shows them.
local function error_info(e)
    if type(e) == "table" then
        return e.err, e.source, e.line, e.ignore_error_stats_update
    end
    return tostring(e)
end
internal.error_info = error_info

-- A whole run in one call from Python (each crossing through lupa costs microseconds): KEYS
-- and ARGV (or the function's two tables), the call under the error handler, a GC step every
-- 50 runs as Redis does, and the reply: internal.reply's values, or 3 and error_info's.
local reply, collectgarbage = internal.reply, collectgarbage
local runs = 0
local function finish(resp, ok, v)
    runs = runs + 1
    if runs % 50 == 0 then collectgarbage("step", 50) end
    if ok then return reply(v, resp, script_resp) end
    return 3, error_info(v)
end
local function go(f, is_function, resp, keys, args)
    script_resp = 2
    if is_function then
        return finish(resp, xpcall(function() return f(keys, args) end, err_handler))
    end
    rawset(G, "KEYS", keys)
    rawset(G, "ARGV", args)
    return finish(resp, xpcall(f, err_handler))
end
internal.run_tables = go
-- The same with the keys and arguments as varargs (nkeys of them are keys).
function internal.run_script(f, is_function, resp, nkeys, ...)
    local n = select("#", ...)
    if n == nkeys then return go(f, is_function, resp, {...}, {}) end
    if nkeys == 0 then return go(f, is_function, resp, {}, {...}) end
    local all, keys, args = {...}, {}, {}
    for i = 1, nkeys do keys[i] = all[i] end
    for i = nkeys + 1, n do args[i - nkeys] = all[i] end
    return go(f, is_function, resp, keys, args)
end

internal.G = G
return internal
