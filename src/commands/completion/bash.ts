import { PROFILES_AWK, valuedFlags, type CompletionOption, type CompletionTree } from './tree.js';

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const words = (xs: string[]) => xs.join(' ');
const flagsOf = (options: CompletionOption[]) => options.flatMap((o) => o.flags);

/** `case` arms shared by bash and zsh (both accept `pattern)` arms with quoted words). */
export function caseArms(tree: CompletionTree) {
  const valued = valuedFlags(tree);
  const valueKind = (o: CompletionOption) => (o.values === undefined ? '' : typeof o.values === 'string' ? `__${o.values}` : words(o.values.choices));
  const valueArms = [
    ...tree.nodes.flatMap((n) => n.options.filter((o) => o.values).map((o) => `    ${o.flags.map((f) => sq(`${n.path}|${f}`)).join('|')}) echo ${sq(valueKind(o))} ;;`)),
    ...tree.globals.filter((o) => o.values).map((o) => `    ${o.flags.map((f) => `*${sq(`|${f}`)}`).join('|')}) echo ${sq(valueKind(o))} ;;`),
  ];
  const takesValue = [...valued.local.map(([p, f]) => sq(`${p}|${f}`)), ...valued.global.map((f) => `*${sq(`|${f}`)}`)];
  return {
    subcommands: tree.nodes.map((n) => `    ${sq(n.path)}) echo ${sq(words(n.subcommands.map((s) => s.name)))} ;;`),
    options: tree.nodes.map((n) => `    ${sq(n.path)}) echo ${sq(words([...flagsOf(n.options), ...flagsOf(tree.globals)]))} ;;`),
    args: tree.nodes.filter((n) => n.argChoices.length).map((n) => `    ${sq(n.path)}) echo ${sq(words(n.argChoices))} ;;`),
    values: valueArms,
    takesValue: takesValue.length ? [`    ${takesValue.join('|')}) return 0 ;;`] : [],
  };
}

/** The helper functions (data + the path walk), written once for bash and zsh: both run this POSIX-ish subset. */
export function sharedFunctions(tree: CompletionTree): string {
  const arms = caseArms(tree);
  const fn = (name: string, body: string[], tail = '') => `${name}() {\n  case "$1" in\n${body.join('\n')}\n  esac${tail}\n}`;
  return [
    fn('_opsctl_subcommands', arms.subcommands),
    fn('_opsctl_options', arms.options),
    fn('_opsctl_args', arms.args),
    fn('_opsctl_values', arms.values),
    fn('_opsctl_takes_value', arms.takesValue, '\n  return 1'),
    `# AWS profiles, read from the files at completion time (no opsctl process, no SDK).
_opsctl_profiles() {
  local config="\${AWS_CONFIG_FILE:-$HOME/.aws/config}" cred="\${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" f
  local -a files
  for f in "$config" "$cred"; do [ -r "$f" ] && files+=("$f"); done
  [ \${#files[@]} -gt 0 ] || return 0
  awk -v cred="$cred" ${sq(PROFILES_AWK)} "\${files[@]}" 2>/dev/null | sort -u
}
# The command path (e.g. "pi audio") from the words before the cursor; options and their values are skipped.
_opsctl_path() {
  local cmdpath="" skip=0 w
  for w in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$w" in
      --) printf '%s\\n' "--"; return ;;
      -*=*) continue ;;
      -*) _opsctl_takes_value "$cmdpath|$w" && skip=1; continue ;;
    esac
    case " $(_opsctl_subcommands "$cmdpath") " in
      *" $w "*) cmdpath="\${cmdpath:+$cmdpath }$w" ;;
    esac
  done
  printf '%s\\n' "$cmdpath"
}`,
  ].join('\n');
}

export function bashScript(tree: CompletionTree): string {
  return `# opsctl bash completion, generated from opsctl's own command tree by \`opsctl completion bash\`.
# Install: see "Shell completion" in opsctl's README (source it from ~/.bashrc, or drop it in
# ~/.local/share/bash-completion/completions/opsctl when bash-completion is installed).
${sharedFunctions(tree)}
_opsctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath values
  [ "$COMP_CWORD" -gt 1 ] && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  cmdpath="$(_opsctl_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  [ "$cmdpath" = "--" ] && return 0
  if [[ $prev == -* ]] && _opsctl_takes_value "$cmdpath|$prev"; then
    values="$(_opsctl_values "$cmdpath|$prev")"
    case "$values" in
      __files) compopt -o filenames 2>/dev/null; COMPREPLY=( $(compgen -f -- "$cur") ) ;;
      __profiles) local IFS=$'\\n'; COMPREPLY=( $(compgen -W "$(_opsctl_profiles)" -- "$cur") ) ;;
      *) COMPREPLY=( $(compgen -W "$values" -- "$cur") ) ;;
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_opsctl_options "$cmdpath")" -- "$cur") )
    return 0
  fi
  local subs="$(_opsctl_subcommands "$cmdpath")" args="$(_opsctl_args "$cmdpath")"
  if [ -n "$subs" ]; then COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  elif [ -n "$args" ]; then COMPREPLY=( $(compgen -W "$args" -- "$cur") )
  else COMPREPLY=( $(compgen -W "$(_opsctl_options "$cmdpath")" -- "$cur") )
  fi
  return 0
}
complete -F _opsctl opsctl
`;
}
