import type { Command } from 'commander';
import type { Context } from '../lib/context.js';
import { usageError } from '../lib/errors.js';

/** The command tree as data: path ("" for the root, "cert issue") → subcommands and options. */
export interface CompletionNode {
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: Array<{ flags: string[]; description: string; takesValue: boolean; choices?: string[] }>;
}

export function commandTree(root: Command): CompletionNode[] {
  const nodes: CompletionNode[] = [];
  const globalOptions = optionsOf(root);
  const walk = (cmd: Command, path: string[]) => {
    nodes.push({
      path: path.join(' '),
      subcommands: cmd.commands.map((c) => ({ name: c.name(), description: c.description() })),
      options: path.length === 0 ? [...globalOptions, { flags: ['--help', '-h'], description: 'show help', takesValue: false }] : [...optionsOf(cmd), ...globalOptions, { flags: ['--help', '-h'], description: 'show help', takesValue: false }],
    });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(root, []);
  return nodes;
}

function optionsOf(cmd: Command): CompletionNode['options'] {
  return cmd.options.map((o) => ({
    flags: [o.long, o.short].filter((f): f is string => Boolean(f)),
    description: o.description,
    takesValue: o.required || o.optional,
    choices: o.argChoices,
  }));
}

const words = (xs: string[]) => xs.join(' ');
const bashEscape = (s: string) => s.replace(/[^A-Za-z0-9 _.,:=@/+-]/g, '');

export function bashScript(nodes: CompletionNode[]): string {
  const subs = nodes.map((n) => `    "${n.path}") echo "${words(n.subcommands.map((s) => s.name))}" ;;`).join('\n');
  const opts = nodes.map((n) => `    "${n.path}") echo "${words(n.options.flatMap((o) => o.flags))}" ;;`).join('\n');
  const valued = [...new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags)))];
  const choiceCases = nodes
    .flatMap((n) => n.options.filter((o) => o.choices).map((o) => `    "${n.path}|${o.flags[0]}") echo "${words(o.choices!)}" ;;`));
  return `# opsctl bash completion. Install: opsctl completion bash > /etc/bash_completion.d/opsctl
_opsctl_subcommands() {
  case "$1" in
${subs}
  esac
}
_opsctl_options() {
  case "$1" in
${opts}
  esac
}
_opsctl_choices() {
  case "$1" in
${choiceCases.join('\n')}
  esac
}
_opsctl() {
  local cur prev path w i skip=0
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [[ $skip == 1 ]]; then skip=0; continue; fi
    [[ $w == -- ]] && return 0
    if [[ $w == -* ]]; then
      case " ${bashEscape(words(valued))} " in *" $w "*) skip=1 ;; esac
      continue
    fi
    case " $(_opsctl_subcommands "$path") " in
      *" $w "*) path="\${path:+$path }$w" ;;
    esac
  done
  if [[ $prev == -* && $COMP_CWORD -gt 1 ]]; then
    case " ${bashEscape(words(valued))} " in
      *" $prev "*)
        local choices
        choices="$(_opsctl_choices "$path|$prev")"
        if [[ -n $choices ]]; then COMPREPLY=( $(compgen -W "$choices" -- "$cur") ); else COMPREPLY=( $(compgen -f -- "$cur") ); fi
        return 0 ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_opsctl_options "$path")" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$(_opsctl_subcommands "$path")" -- "$cur") )
  fi
  return 0
}
complete -F _opsctl opsctl
`;
}

export function zshScript(nodes: CompletionNode[]): string {
  // zsh runs the bash function through bashcompinit: one implementation, two shells.
  return `#compdef opsctl
# opsctl zsh completion. Install: opsctl completion zsh > "\${fpath[1]}/_opsctl" (or source it from ~/.zshrc)
autoload -U +X compinit && compinit -u
autoload -U +X bashcompinit && bashcompinit
${bashScript(nodes).split('\n').slice(1).join('\n')}`;
}

export function fishScript(nodes: CompletionNode[]): string {
  const lines = ['# opsctl fish completion. Install: opsctl completion fish > ~/.config/fish/completions/opsctl.fish', 'complete -c opsctl -f'];
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  for (const node of nodes) {
    const parts = node.path ? node.path.split(' ') : [];
    const cond = parts.length === 0
      ? `not __fish_seen_subcommand_from ${words(nodes[0]!.subcommands.map((s) => s.name))}`
      : parts.map((p) => `__fish_seen_subcommand_from ${p}`).join('; and ') +
        (node.subcommands.length ? `; and not __fish_seen_subcommand_from ${words(node.subcommands.map((s) => s.name))}` : '');
    for (const sub of node.subcommands) lines.push(`complete -c opsctl -n ${q(cond)} -a ${sub.name} -d ${q(sub.description)}`);
    for (const o of node.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
      let line = `complete -c opsctl -n ${q(cond)}`;
      if (long) line += ` -l ${long}`;
      if (short) line += ` -s ${short}`;
      if (o.takesValue) line += o.choices ? ` -x -a ${q(words(o.choices))}` : ' -r -F';
      line += ` -d ${q(o.description)}`;
      lines.push(line);
    }
  }
  return lines.join('\n') + '\n';
}

export async function handler(args: unknown[], _opts: Record<string, unknown>, ctx: Context): Promise<void> {
  const shell = String(args[0]);
  const { buildProgram } = await import('../cli.js');
  const nodes = commandTree(buildProgram());
  const script = shell === 'bash' ? bashScript(nodes) : shell === 'zsh' ? zshScript(nodes) : shell === 'fish' ? fishScript(nodes) : undefined;
  if (script === undefined) throw usageError(`Unknown shell "${shell}".`, 'use bash, zsh or fish');
  ctx.out.streams.stdout.write(script);
}
