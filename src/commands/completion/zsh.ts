import { sharedFunctions } from './bash.js';
import type { CompletionOption, CompletionTree } from './tree.js';

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** `_describe` entries are name:description; a colon inside the name would split it. */
const entry = (name: string, description: string) => sq(`${name.replace(/:/g, '\\:')}:${description}`);

/**
 * A native zsh completion function (autoloaded from $fpath by compinit), with
 * descriptions for commands and options. The path walk and the data are the
 * same functions the bash script uses.
 */
export function zshScript(tree: CompletionTree): string {
  const described = (options: CompletionOption[]) => options.flatMap((o) => o.flags.map((f) => entry(f, o.description)));
  const subArms = tree.nodes.map((n) => `    ${sq(n.path)}) opsctl_list=(${n.subcommands.map((s) => entry(s.name, s.description)).join(' ')}) ;;`);
  const optArms = tree.nodes.map((n) => `    ${sq(n.path)}) opsctl_list=(${[...described(n.options), ...described(tree.globals)].join(' ')}) ;;`);
  return `#compdef opsctl
# opsctl zsh completion, generated from opsctl's own command tree by \`opsctl completion zsh\`.
# Install: write it as _opsctl into a directory on $fpath before compinit runs (see opsctl's README).
${sharedFunctions(tree)}
_opsctl_described_subcommands() {
  case "$1" in
${subArms.join('\n')}
  esac
}
_opsctl_described_options() {
  case "$1" in
${optArms.join('\n')}
  esac
}
_opsctl() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmdpath values
  local -a opsctl_list
  cmdpath="$(_opsctl_path "\${(@)words[2,CURRENT-1]}")"
  [[ $cmdpath == -- ]] && return 1
  if (( CURRENT > 2 )) && [[ $prev == -* ]] && _opsctl_takes_value "$cmdpath|$prev"; then
    values="$(_opsctl_values "$cmdpath|$prev")"
    case "$values" in
      __files) _files ;;
      __profiles) opsctl_list=("\${(@f)$(_opsctl_profiles)}"); compadd -a opsctl_list ;;
      '') return 1 ;;
      *) opsctl_list=(\${=values}); compadd -a opsctl_list ;;
    esac
    return
  fi
  if [[ $cur != -* ]]; then
    _opsctl_described_subcommands "$cmdpath"
    if (( \${#opsctl_list} )); then _describe -t commands 'opsctl command' opsctl_list; return; fi
    opsctl_list=(\${=$(_opsctl_args "$cmdpath")})
    if (( \${#opsctl_list} )); then compadd -a opsctl_list; return; fi
  fi
  _opsctl_described_options "$cmdpath"
  _describe -t options option opsctl_list
}
# Autoloaded from $fpath the file is the body of _opsctl: define, then complete. Sourced: register.
if [[ \${funcstack[1]} == _opsctl ]]; then
  _opsctl "$@"
else
  compdef _opsctl opsctl
fi
`;
}
