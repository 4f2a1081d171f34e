/** Strings that would run something (touch `marker`) if any script treated them as code, plus awkward text. */
export function adversarialStrings(marker: string): string[] {
  return [
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `'; touch ${marker}; echo '`,
    `"; touch ${marker}; echo "`,
    `x; touch ${marker}`,
    `x;touch ${marker}`,
    `$'\\x27'; touch ${marker}`,
    `\${PATH:+$(touch ${marker})}`,
    `\${IFS}$(touch\${IFS}${marker})`,
    `%s%n%x \\ \\\\ ' " * ? [ ] ! # & | < > ( ) { }`,
    'Zoë — 東京 ‘Ω’ 🚀',
  ];
}

/** The same, for fields that may hold any text: line breaks and shell-option look-alikes too. */
export function adversarialValues(marker: string): string[] {
  return [...adversarialStrings(marker), `a\nb; touch ${marker}`, '-n', '--', '*', '', ' lead and trail '];
}
