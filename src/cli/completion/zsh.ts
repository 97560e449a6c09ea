/**
 * `flow completion zsh`: a native zsh completion (_arguments) generated from the command
 * spec. Works sourced (`source <(flow completion zsh)`, after compinit) and as an
 * autoloaded `_flow` file in $fpath.
 */
import { allSpecs, shq, workflowNames, type ArgKind, type CmdSpec, type OptSpec, type ValueKind } from './spec.js';

const fn = (c: CmdSpec) => `_flow__${c.path.map((p) => p.replace(/[^A-Za-z0-9]/g, '_')).join('__')}`;
/** text inside [...] or after ":" in an _arguments spec */
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1').replace(/\s+/g, ' ');

function action(v: ValueKind | ArgKind): string {
  switch (v.kind) {
    case 'file':
      return '_files';
    case 'dir':
      return '_files -/';
    case 'choice':
      return `(${v.choices.join(' ')})`;
    case 'id':
      return '_flow_ids';
    case 'workflow':
      return `(${workflowNames().join(' ')})`;
    case 'command':
      return '_flow_commands';
    default:
      return ' ';
  }
}

function optSpecs(o: OptSpec): string[] {
  const excl = o.names.length > 1 ? `(${o.names.join(' ')})` : '';
  return o.names.map((n) => {
    const meta = o.value ? (o.value.kind === 'dir' ? 'directory' : o.value.kind === 'file' ? 'file' : 'value') : '';
    const arg = o.value ? `${n.startsWith('--') ? '=' : '+'}[${esc(o.description)}]:${meta}:${action(o.value)}` : `[${esc(o.description)}]`;
    return shq(`${excl}${n}${arg}`);
  });
}

function commandFunction(c: CmdSpec): string {
  const specs = c.options.flatMap(optSpecs);
  if (c.subcommands.length === 0) {
    specs.push(...c.args.map((a, i) => shq(`${i + 1}:${a.kind === 'none' ? 'argument' : a.kind}:${action(a)}`)));
    return `${fn(c)}() {\n  _arguments -S \\\n    ${specs.join(' \\\n    ')}\n}`;
  }
  const items = c.subcommands.map((s) => shq(`${esc(s.path.at(-1)!)}:${s.description.replace(/\s+/g, ' ')}`));
  const cases = c.subcommands.map((s) => `      ${shq(s.path.at(-1)!)}) ${fn(s)} ;;`);
  return `${fn(c)}() {
  local curcontext=$curcontext state line
  typeset -A opt_args
  _arguments -C -S -A '-*' \\
    ${[...specs, shq('1: :->command'), shq('*:: :->argument')].join(' \\\n    ')}
  case $state in
    command)
      local -a commands=(
        ${items.join('\n        ')}
      )
      _describe -t commands 'flow ${c.path.length ? `${c.path.join(' ')} ` : ''}command' commands ;;
    argument)
      case $words[1] in
${cases.join('\n')}
      esac ;;
  esac
}`;
}

export function zshScript(spec: CmdSpec): string {
  const all = allSpecs(spec);
  return `#compdef flow
# zsh completion for flow: commands, workflows, options, run ids
#   now, in this shell (after compinit):   source <(flow completion zsh)
#   for good:   flow completion zsh > "\${fpath[1]}/_flow"   (then start a new shell)
# Run ids come from \`flow list --json\` (with the --state-dir on the command line, or FLOW_STATE_DIR).

_flow_ids() {
  local -a ids
  local flow=\${_flow_bin:-flow} dir=\${_flow_state_dir:-}
  ids=(\${(f)"$(_call_program run-ids \${~flow} \${dir:+--state-dir} \${~dir} list --json 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4)"})
  _describe -t run-ids 'run id' ids
}

_flow_commands() {
  local -a commands=(${spec.subcommands.map((s) => shq(s.path[0]!)).join(' ')})
  _describe -t commands 'flow command' commands
}

${all.map(commandFunction).join('\n\n')}

_flow() {
  local _flow_bin=$words[1] _flow_state_dir='' i
  for ((i = 2; i < CURRENT; i++)); do
    case $words[i] in
      --state-dir) _flow_state_dir=$words[i+1] ;;
      --state-dir=*) _flow_state_dir=\${words[i]#*=} ;;
    esac
  done
  ${fn(spec)}
}

if [[ $funcstack[1] == _flow ]]; then
  _flow "$@"
else
  compdef _flow flow
fi
`;
}
