# Usage: zsh -f zsh-complete.zsh FPATH_DIR OUT_FILE 'opsctl pi audio '
# Starts a fresh interactive `zsh -f` on a pseudo-terminal (zpty), installs the
# completion the README way (a directory on $fpath, then compinit), types the
# line and presses TAB. What the completion function hands to compadd is written
# to OUT_FILE, one candidate a line; "__done__" ends it.
zmodload zsh/zpty || exit 3
dir=$1 out=$2 line=$3
setup=${out}.setup.zsh
cat > $setup <<SETUP
PS1='> '
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u -D
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' menu no
# Record every candidate offered (compadd -O/-A/-D only compute: pass them through).
compadd() {
  if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "\$@"; return; fi
  local -a __hits
  builtin compadd -A __hits "\$@"
  (( \$#__hits )) && print -rl -- \$__hits >> ${(q)out}
  builtin compadd "\$@"
}
_opsctl_capture_done() { print -r -- __done__ >> ${(q)out} }
comppostfuncs=(_opsctl_capture_done)
bindkey '^I' complete-word
SETUP
zpty -b z zsh -f -i
zpty -w z "source ${(q)setup}"
zpty -w -n z "$line"$'\t'
# Read what the terminal shows until the capture says it is done (bounded).
integer i
for (( i = 0; i < 200; i++ )); do
  zpty -r -t z junk 2>/dev/null
  [[ -f $out ]] && grep -q '^__done__$' $out && break
  sleep 0.05
done
zpty -d z
[[ -f $out ]] && grep -q '^__done__$' $out || exit 4
