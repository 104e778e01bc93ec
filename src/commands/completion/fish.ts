import { PROFILES_AWK, valuedFlags, type CompletionOption, type CompletionTree } from './tree.js';

/** fish single quotes: only \\ and \' are special. */
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function fishScript(tree: CompletionTree): string {
  const valued = valuedFlags(tree);
  const lines = [
    "# opsctl fish completion, generated from opsctl's own command tree by `opsctl completion fish`.",
    '# Install: opsctl completion fish > ~/.config/fish/completions/opsctl.fish',
    'complete -c opsctl -e',
    'complete -c opsctl -f',
    'function __opsctl_subcommands',
    '    switch "$argv[1]"',
    ...tree.nodes.flatMap((n) => [`        case ${q(n.path)}`, `            echo ${n.subcommands.map((s) => q(s.name)).join(' ')}`]),
    '    end',
    'end',
    'function __opsctl_takes_value',
    '    switch "$argv[1]"',
    `        case ${[...valued.local.map(([p, f]) => q(`${p}|${f}`)), ...valued.global.map((f) => q(`*|${f}`))].join(' ')}`,
    '            return 0',
    '    end',
    '    return 1',
    'end',
    '# The command path (e.g. "pi audio") from the words before the cursor; options and their values are skipped.',
    'function __opsctl_path',
    '    set -l cmdpath ""',
    '    set -l skip 0',
    '    for w in (commandline -opc)[2..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $w',
    "            case '--'",
    "                echo -- '--'",
    '                return',
    "            case '-*=*'",
    '                continue',
    "            case '-*'",
    '                __opsctl_takes_value "$cmdpath|$w"; and set skip 1',
    '                continue',
    '        end',
    '        if contains -- $w (string split " " -- (__opsctl_subcommands "$cmdpath"))',
    '            set cmdpath (string trim -- "$cmdpath $w")',
    '        end',
    '    end',
    '    echo -- $cmdpath',
    'end',
    'function __opsctl_at',
    '    test (__opsctl_path) = "$argv[1]"',
    'end',
    '# AWS profiles, read from the files at completion time (no opsctl process, no SDK).',
    'function __opsctl_profiles',
    '    set -l config $HOME/.aws/config',
    '    set -q AWS_CONFIG_FILE; and test -n "$AWS_CONFIG_FILE"; and set config $AWS_CONFIG_FILE',
    '    set -l cred $HOME/.aws/credentials',
    '    set -q AWS_SHARED_CREDENTIALS_FILE; and test -n "$AWS_SHARED_CREDENTIALS_FILE"; and set cred $AWS_SHARED_CREDENTIALS_FILE',
    '    set -l files',
    '    for f in $config $cred',
    '        test -r $f; and set files $files $f',
    '    end',
    '    test (count $files) -gt 0; or return 0',
    `    awk -v cred="$cred" ${q(PROFILES_AWK)} $files 2>/dev/null | sort -u`,
    'end',
  ];
  const optionLine = (o: CompletionOption, cond?: string) => {
    const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
    const short = o.flags.find((f) => /^-[^-]$/.test(f))?.slice(1);
    let line = 'complete -c opsctl';
    if (cond) line += ` -n ${q(cond)}`;
    if (long) line += ` -l ${long}`;
    if (short) line += ` -s ${short}`;
    if (o.takesValue) {
      if (o.values === 'files') line += ' -r -F';
      else if (o.values === 'profiles') line += " -x -a '(__opsctl_profiles)'";
      else if (o.values) line += ` -x -a ${q(o.values.choices.join(' '))}`;
      else line += ' -x';
    }
    return `${line} -d ${q(o.description)}`;
  };
  for (const o of tree.globals) lines.push(optionLine(o));
  for (const node of tree.nodes) {
    const cond = `__opsctl_at ${q(node.path)}`;
    for (const sub of node.subcommands) lines.push(`complete -c opsctl -n ${q(cond)} -a ${q(sub.name)} -d ${q(sub.description)}`);
    if (node.argChoices.length) lines.push(`complete -c opsctl -n ${q(cond)} -a ${q(node.argChoices.join(' '))}`);
    for (const o of node.options) lines.push(optionLine(o, cond));
  }
  return lines.join('\n') + '\n';
}
