# fish completion for ctxscope.
# Generated from the Typer app by `python tools/docgen.py`; do not edit by hand.
# Static lists: a TAB never starts ctxscope. Install: see `ctxscope completion --help`.

function __ctxscope_subcommands --description 'subcommands of a ctxscope command path'
    switch $argv[1]
        case ''
            printf '%s\n' status resolve diff trust mcp ps log init sync repair hook prompt completion exec whoami undo serve metrics config
        case 'config'
            printf '%s\n' get set unset
    end
end

function __ctxscope_valued --description 'options of a ctxscope command path that take a value'
    switch $argv[1]
        case 'status'
            printf '%s\n' --scope --interval
        case 'resolve'
            printf '%s\n' --scope
        case 'diff'
            printf '%s\n' --scope
        case 'ps'
            printf '%s\n' --pid
        case 'log'
            printf '%s\n' --since --event --scope --tail -n
        case 'init'
            printf '%s\n' --scope
        case 'sync'
            printf '%s\n' --direction --scope
        case 'repair'
            printf '%s\n' --to --shell
        case 'prompt'
            printf '%s\n' --format
        case 'exec'
            printf '%s\n' --scope
        case 'whoami'
            printf '%s\n' --scope
        case 'serve'
            printf '%s\n' --host --port
        case 'metrics'
            printf '%s\n' --output -o
    end
end

# Succeeds when the command line so far is at command path $argv[1] and, when
# $argv[2] is given, has that many positional arguments after it.
function __ctxscope_at
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path ''
    set -l npos 0
    set -l expect 0
    for token in $tokens
        if test $expect = 1
            set expect 0
            continue
        end
        switch $token
            case '--*=*'
            case '-*'
                if contains -- $token (__ctxscope_valued $path)
                    set expect 1
                end
            case '*'
                if contains -- $token (__ctxscope_subcommands $path)
                    set path (string trim -- "$path $token")
                    set npos 0
                else
                    set npos (math $npos + 1)
                end
        end
    end
    test "$path" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test $npos = $argv[2]
end

complete -c ctxscope -f
complete -c ctxscope -n '__ctxscope_at ""' -a 'status' -d 'Show every source, its value, origin and state, which one wins, and how to fix drift'
complete -c ctxscope -n '__ctxscope_at ""' -a 'resolve' -d 'Print only the resolved scope on stdout, for `$(ctxscope resolve)`'
complete -c ctxscope -n '__ctxscope_at ""' -a 'diff' -d 'Show each drifted source against the resolved scope; exit 3 on drift, 0 in sync'
complete -c ctxscope -n '__ctxscope_at ""' -a 'trust' -d 'Trust a project .ctxscope.toml, so its [cloud], [runtime], [log] and [observe] count'
complete -c ctxscope -n '__ctxscope_at ""' -a 'mcp' -d 'Serve read-only scope tools to an MCP client over stdio'
complete -c ctxscope -n '__ctxscope_at ""' -a 'ps' -d 'List processes whose environment holds a runtime scope (CTX_SCOPE) and mark stale ones'
complete -c ctxscope -n '__ctxscope_at ""' -a 'log' -d 'Show drift log events (rotated files included) as a table, newest last'
complete -c ctxscope -n '__ctxscope_at ""' -a 'init' -d 'Link this repository to a scope: create or update .ctxscope.toml at its root'
complete -c ctxscope -n '__ctxscope_at ""' -a 'sync' -d 'Write one source from another, verify it by reading it back, and log it'
complete -c ctxscope -n '__ctxscope_at ""' -a 'repair' -d 'Bring the local file, the cloud default, its cache and the runtime env to one scope'
complete -c ctxscope -n '__ctxscope_at ""' -a 'hook' -d 'Print a snippet for ~/.bashrc, ~/.zshrc or config.fish that warns at shell start'
complete -c ctxscope -n '__ctxscope_at ""' -a 'prompt' -d 'Print a short scope marker for the shell prompt; nothing when no scope is set'
complete -c ctxscope -n '__ctxscope_at ""' -a 'completion' -d 'Print the completion script for bash, zsh or fish on stdout'
complete -c ctxscope -n '__ctxscope_at ""' -a 'exec' -d 'Resolve and authorize like `resolve`, then replace itself with COMMAND in that scope'
complete -c ctxscope -n '__ctxscope_at ""' -a 'whoami' -d 'Show the cloud, whether CTXSCOPE_TOKEN is set, who the cloud says you are, and your access'
complete -c ctxscope -n '__ctxscope_at ""' -a 'undo' -d 'Revert the last write ctxscope made here (sync, repair, init, config set/unset, undo)'
complete -c ctxscope -n '__ctxscope_at ""' -a 'serve' -d 'Serve /healthz, /status and /metrics over HTTP on uvicorn, for probes and scrapes'
complete -c ctxscope -n '__ctxscope_at ""' -a 'metrics' -d 'Print the Prometheus metrics: state, resolved scope, drift, cloud, drift-event counts'
complete -c ctxscope -n '__ctxscope_at ""' -a 'config' -d 'List every effective setting with its value and origin (file:line, env var, default)'
complete -c ctxscope -n '__ctxscope_at ""' -l version -s V -d 'Print the version and exit'
complete -c ctxscope -n '__ctxscope_at ""' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "status"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "status"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "status"' -l check -d 'Exit with the state\'s code: INVALID 1, DRIFTED 3, UNAUTHORIZED 4, UNRESOLVED 5, DEGRADED 6; 0 when SYNCED'
complete -c ctxscope -n '__ctxscope_at "status"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "status"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "status"' -l watch -d 'Keep the table on screen and redraw it when a source changes (files at once, the cloud at its cache TTL), until Ctrl-C (exit 0)'
complete -c ctxscope -n '__ctxscope_at "status"' -l interval -x -d 'With --watch: how often to look for changes'
complete -c ctxscope -n '__ctxscope_at "status"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l explain -d 'Show the whole chain on stderr'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "resolve"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "diff"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "diff"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "diff"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "diff"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "diff"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "trust"' -l revoke -d 'Forget the trust instead'
complete -c ctxscope -n '__ctxscope_at "trust"' -l yes -s y -d 'Trust a file that changed since it was last trusted without asking (the diff is still printed)'
complete -c ctxscope -n '__ctxscope_at "trust"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "trust"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "trust" 0' -F -d 'The project file to trust (default: the nearest .ctxscope.toml)'
complete -c ctxscope -n '__ctxscope_at "mcp"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "ps"' -l json -d 'Print a JSON list of the processes on stdout'
complete -c ctxscope -n '__ctxscope_at "ps"' -l check -d 'Exit 3 when any process holds a stale scope'
complete -c ctxscope -n '__ctxscope_at "ps"' -l pid -x -d 'Look only at this process (repeatable)'
complete -c ctxscope -n '__ctxscope_at "ps"' -l all -d 'Look at every process of this user on the machine, not only those working in the current repository'
complete -c ctxscope -n '__ctxscope_at "ps"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "ps"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "ps"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "log"' -l since -x -d 'Only events at or after WHEN: a time back from now (90s, 30m, 2h, 7d, 1w) or an ISO time (2026-11-24T10:00:00Z; without a zone it is local time)'
complete -c ctxscope -n '__ctxscope_at "log"' -l event -x -d 'Only events named NAME, e.g. scope_drift_detected (repeatable)'
complete -c ctxscope -n '__ctxscope_at "log"' -l scope -x -d 'Only events where NAME is the runtime, local, cloud or resolved scope, or a sync\'s target, before or after value'
complete -c ctxscope -n '__ctxscope_at "log"' -l tail -s n -x -d 'Only the last N matching events (read from the end of the log)'
complete -c ctxscope -n '__ctxscope_at "log"' -l follow -s f -d 'Keep running and show new events as they are written; Ctrl-C stops'
complete -c ctxscope -n '__ctxscope_at "log"' -l json -d 'Print the matching events as raw JSON lines (with --stats: one JSON object of counts)'
complete -c ctxscope -n '__ctxscope_at "log"' -l stats -d 'Count the matching events by event, reason, scope and host, with a per-hour bar chart (UTC)'
complete -c ctxscope -n '__ctxscope_at "log"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "init"' -l scope -x -d 'The scope to link (default: the repository file\'s, else the scope that resolves now)'
complete -c ctxscope -n '__ctxscope_at "init"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "init"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "init"' -l force -d 'Replace a local file even when it is read-only (its mode has no write bit)'
complete -c ctxscope -n '__ctxscope_at "init"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "init"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "sync"' -l direction -x -a 'runtime-to-local resolved-to-cloud' -d 'runtime-to-local: write the runtime scope (CTX_SCOPE or --scope) into the local file. resolved-to-cloud: PUT the resolved scope as the cloud default'
complete -c ctxscope -n '__ctxscope_at "sync"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "sync"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "sync"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "sync"' -l force -d 'Replace a local file even when it is read-only (its mode has no write bit)'
complete -c ctxscope -n '__ctxscope_at "sync"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "sync"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "repair"' -l to -x -d 'The scope to bring every source to (default: the resolved scope; with an invalid CTX_SCOPE, what resolves without it)'
complete -c ctxscope -n '__ctxscope_at "repair"' -l shell -x -a 'bash zsh fish' -d 'Print only shell code on stdout that fixes the runtime env, for eval "$(ctxscope repair --shell bash)" (fish: | source)'
complete -c ctxscope -n '__ctxscope_at "repair"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "repair"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "repair"' -l force -d 'Replace a local file even when it is read-only (its mode has no write bit)'
complete -c ctxscope -n '__ctxscope_at "repair"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "repair"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "hook"' -l run -d 'Run the startup check instead of printing the snippet: one line on stderr when the scope needs attention, nothing otherwise; always exits 0'
complete -c ctxscope -n '__ctxscope_at "hook"' -l json -d 'Print one JSON object on stdout: {"shell", "snippet"}; with --run, {"state", "warning"} (the line, or null) and nothing on stderr'
complete -c ctxscope -n '__ctxscope_at "hook"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "hook" 0' -a 'bash zsh fish' -d 'The shell whose startup file gets the snippet'
complete -c ctxscope -n '__ctxscope_at "prompt"' -l format -x -d 'What to print: {scope} the resolved scope, {mark} \'!\' when the scope needs attention, {state} e.g. SYNCED, {source} e.g. local'
complete -c ctxscope -n '__ctxscope_at "prompt"' -l json -d 'Print one JSON object on stdout: {"scope", "mark", "state", "source", "text"}, where text is what the prompt prints (null for nothing)'
complete -c ctxscope -n '__ctxscope_at "prompt"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "completion"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "completion" 0' -a 'bash zsh fish' -d 'The shell to print the completion script for'
complete -c ctxscope -n '__ctxscope_at "exec"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "exec"' -l dry-run -d 'Print the environment it would set and the command, shell-quoted, and start nothing'
complete -c ctxscope -n '__ctxscope_at "exec"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "exec"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "exec"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "whoami"' -l scope -x -d 'Runtime scope for this run; beats CTX_SCOPE and every other source'
complete -c ctxscope -n '__ctxscope_at "whoami"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "whoami"' -l offline -d 'Never touch the network; use a cached cloud answer of any age'
complete -c ctxscope -n '__ctxscope_at "whoami"' -l refresh -d 'Bypass the cloud cache and ask the cloud now'
complete -c ctxscope -n '__ctxscope_at "whoami"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "undo"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "undo"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "undo"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "undo"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "serve"' -l host -x -d 'Address to listen on'
complete -c ctxscope -n '__ctxscope_at "serve"' -l port -x -d 'Port to listen on (0: any free port, shown on stderr)'
complete -c ctxscope -n '__ctxscope_at "serve"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "metrics"' -l output -s o -x -d 'Replace FILE atomically instead of printing, e.g. ctxscope.prom in node_exporter\'s textfile directory'
complete -c ctxscope -n '__ctxscope_at "metrics"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "config"' -a 'get' -d 'Print one setting\'s value, like `git config --get`; exit 1 when it is not set'
complete -c ctxscope -n '__ctxscope_at "config"' -a 'set' -d 'Set one setting in a config file, keeping its comments (undo: ctxscope undo)'
complete -c ctxscope -n '__ctxscope_at "config"' -a 'unset' -d 'Remove one setting from a config file, so the next file or the default applies'
complete -c ctxscope -n '__ctxscope_at "config"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "config"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "config get"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "config get"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "config set"' -l user -d 'Edit the user config (CTXSCOPE_CONFIG, else config.toml in the user config directory)'
complete -c ctxscope -n '__ctxscope_at "config set"' -l project -d 'Edit the project file (the nearest .ctxscope.toml; a new one at the repository root when there is none)'
complete -c ctxscope -n '__ctxscope_at "config set"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "config set"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "config set"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "config set"' -l help -s h -d 'Show this message and exit'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l user -d 'Edit the user config (CTXSCOPE_CONFIG, else config.toml in the user config directory)'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l project -d 'Edit the project file (the nearest .ctxscope.toml; a new one at the repository root when there is none)'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l dry-run -d 'Print the plan (source, file or URL, before, after) and write nothing; exit with the code the run would end with'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l yes -s y -d 'Write without asking'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l json -d 'Print one JSON object on stdout'
complete -c ctxscope -n '__ctxscope_at "config unset"' -l help -s h -d 'Show this message and exit'
