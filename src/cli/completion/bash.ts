/** `flow completion bash`: a bash completion script generated from the command spec. */
import { allSpecs, shq, workflowNames, type ArgKind, type CmdSpec, type ValueKind } from './spec.js';

const key = (c: CmdSpec) => c.path.join(' ');

/** file | dir | text | =choice1 choice2 */
const kindWord = (v: ValueKind | ArgKind): string => (v.kind === 'choice' ? `=${v.choices.join(' ')}` : v.kind);

/** `case` arms: each distinct answer once, with every key that gives it. */
function arms(pairs: [string, string][]): string {
  const by = new Map<string, string[]>();
  for (const [k, answer] of pairs) by.set(answer, [...new Set([...(by.get(answer) ?? []), k])]);
  const pattern = (k: string) => (k.startsWith('*') ? `*${shq(k.slice(1))}` : shq(k));
  return [...by].map(([answer, keys]) => `    ${keys.map(pattern).join('|')}) echo ${shq(answer)} ;;`).join('\n');
}

export function bashScript(spec: CmdSpec): string {
  const specs = allSpecs(spec);
  const subs = arms(specs.filter((c) => c.subcommands.length).map((c) => [key(c), c.subcommands.map((s) => s.path.at(-1)!).join(' ')]));
  const opts = arms(specs.map((c) => [key(c), c.options.flatMap((o) => o.names).join(' ')]));
  const values = arms(specs.flatMap((c) => c.options.filter((o) => o.value).flatMap((o) => o.names.map((n): [string, string] => [`${o.global ? '*' : key(c)}|${n}`, kindWord(o.value!)]))));
  const args = arms(specs.flatMap((c) => c.args.map((a, i): [string, string] => [`${key(c)}|${i}`, kindWord(a)]).filter(([, k]) => k !== 'none')));
  return `# bash completion for flow: commands, workflows, options, run ids
#   now, in this shell:   source <(flow completion bash)
#   for good:             flow completion bash > /etc/bash_completion.d/flow
# Run ids come from \`flow list --json\` (with the --state-dir on the command line, or FLOW_STATE_DIR).

_flow_subcommands() {
  case $1 in
${subs}
  esac
}

_flow_options() {
  case $1 in
${opts}
  esac
}

# what the value of option $2 of command "$1" is: file, dir, text, or =choices (nothing: a switch)
_flow_value() {
  case "$1|$2" in
${values}
  esac
}

# what positional argument number $2 (from 0) of command "$1" is
_flow_arg() {
  case "$1|$2" in
${args}
  esac
}

_flow_ids() {
  local flow=\${COMP_WORDS[0]} dir=$1
  [[ $flow == '~/'* ]] && flow=$HOME/\${flow#'~/'}
  [[ $dir == '~/'* ]] && dir=$HOME/\${dir#'~/'}
  "$flow" \${dir:+--state-dir "$dir"} list --json 2>/dev/null | grep -o '"id":"[^"]*"' | cut -d'"' -f4
}

_flow_reply() {
  local cur=$1 kind=$2 state_dir=$3
  case $kind in
    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    id) mapfile -t COMPREPLY < <(compgen -W "$(_flow_ids "$state_dir")" -- "$cur") ;;
    workflow) mapfile -t COMPREPLY < <(compgen -W ${shq(workflowNames().join(' '))} -- "$cur") ;;
    command) mapfile -t COMPREPLY < <(compgen -W "$(_flow_subcommands '')" -- "$cur") ;;
    =*) mapfile -t COMPREPLY < <(compgen -W "\${kind#=}" -- "$cur") ;;
    *) COMPREPLY=() ;;
  esac
}

_flow() {
  local cword=$COMP_CWORD cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local path='' word kind i n=0 state_dir=''
  # "--opt=value": bash splits it at "=" (COMP_WORDBREAKS)
  if [[ $cur == '=' ]]; then cur=''; elif [[ $prev == '=' && $cword -ge 2 ]]; then prev=\${COMP_WORDS[cword-2]}; fi
  # the words before the cursor: the command path, positionals, options and their values
  for ((i = 1; i < cword; i++)); do
    word=\${COMP_WORDS[i]}
    case $word in
      --state-dir=*) state_dir=\${word#*=}; continue ;;
      -*=*) continue ;;
      -*)
        [[ -z $(_flow_value "$path" "$word") ]] && continue
        [[ \${COMP_WORDS[i+1]} == '=' ]] && ((i++))
        ((i++))
        [[ $word == --state-dir && $i -lt $cword ]] && state_dir=\${COMP_WORDS[i]}
        continue ;;
    esac
    if [[ " $(_flow_subcommands "$path") " == *" $word "* ]]; then path=\${path:+$path }$word; n=0; else ((n++)); fi
  done
  COMPREPLY=()
  if [[ $prev == -* ]]; then
    kind=$(_flow_value "$path" "$prev")
    if [[ -n $kind ]]; then _flow_reply "$cur" "$kind" "$state_dir"; return 0; fi
  fi
  if [[ $cur == --*=* ]]; then
    kind=$(_flow_value "$path" "\${cur%%=*}")
    [[ -n $kind ]] && _flow_reply "\${cur#*=}" "$kind" "$state_dir" && COMPREPLY=("\${COMPREPLY[@]/#/\${cur%%=*}=}")
    return 0
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_flow_options "$path")" -- "$cur")
    return 0
  fi
  local subs; subs=$(_flow_subcommands "$path")
  if [[ -n $subs ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    return 0
  fi
  _flow_reply "$cur" "$(_flow_arg "$path" "$n")" "$state_dir"
  return 0
}

complete -F _flow flow
`;
}
