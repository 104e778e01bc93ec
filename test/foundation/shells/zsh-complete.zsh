# Usage: zsh -f zsh-complete.zsh FPATH_DIR OUT_FILE 'opsctl pi audio ' ['opsctl cert ' …]
# Starts a fresh interactive `zsh -f` on a pseudo-terminal (zpty), installs the
# completion the README way (a directory on $fpath, then compinit), and for each
# line types it, presses TAB and clears the line. What the completion function
# hands to compadd is written to OUT_FILE, one candidate a line; "__done__" ends
# each line's candidates.
zmodload zsh/zpty || exit 3
dir=$1 out=$2
shift 2
setup=${out}.setup.zsh
cat > $setup <<SETUP
PS1='> '
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' menu no
# No listing under the line: a long list would stop at "do you wish to see all N possibilities?".
unsetopt auto_list list_ambiguous
setopt no_beep
# Record every candidate offered (compadd -O/-A/-D only compute: pass them through).
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "\$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "\$@"
  (( \$#__hits )) && print -rl -- \$__hits >> ${(q)out}
  builtin compadd "\$@"
}
# TAB completes, then marks the end of this line's candidates.
_opsctl_capture_tab() { zle complete-word; print -r -- __done__ >> ${(q)out} }
zle -N _opsctl_capture_tab
bindkey '^I' _opsctl_capture_tab
SETUP
zpty -b z zsh -f -i
zpty -w z "source ${(q)setup}"
integer n=0 i
for line in "$@"; do
  (( n++ ))
  zpty -w -n z "$line"$'\t'
  # Read what the terminal shows until the capture says this line is done (bounded).
  for (( i = 0; i < 200; i++ )); do
    while zpty -r -t z junk 2>/dev/null; do :; done
    [[ -f $out ]] && (( $(grep -c '^__done__$' $out) >= n )) && break
    sleep 0.02
  done
  (( i < 200 )) || { zpty -d z; exit 4; }
  zpty -w -n z $'\C-u'
done
zpty -d z
