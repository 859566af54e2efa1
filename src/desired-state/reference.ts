/**
 * Docker image references, checked against the distribution `reference` grammar
 * (github.com/distribution/reference, `regexp.go`):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host [ ":" port ]      path-component := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := [_.] | "__" | "-"+     tag := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" [0-9a-fA-F]{32,}
 *
 * A reference reaches Docker's API as a value, never a command line, but a string such as
 * `-v /:/host alpine` is refused all the same: it is a flag-injection attempt in any tool that
 * shells out, and no image is called that.
 */

/** Docker caps a repository name at 255 characters; we cap the whole reference, which is stricter. */
export const MAX_IMAGE_REFERENCE_CHARS = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domain = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const alphaNumeric = '[a-z0-9]+';
const separator = '(?:[_.]|__|[-]+)';
const pathComponent = `${alphaNumeric}(?:${separator}${alphaNumeric})*`;
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
/**
 * The whole grammar, anchored. Written for both JavaScript and RE2 (Go's regexp, which a host's
 * JSON Schema validator uses): no lookaround, no backreferences.
 */
export const IMAGE_REFERENCE = new RegExp(`^${name}(?::${tag})?(?:@${digest})?$`);

/** Why `ref` is not an image reference we accept; empty when it is one. */
export function imageReferenceProblems(ref: string): string[] {
  if (ref === '') return ['must not be empty'];
  const problems: string[] = [];
  if (ref.length > MAX_IMAGE_REFERENCE_CHARS)
    problems.push(`is ${ref.length} characters; at most ${MAX_IMAGE_REFERENCE_CHARS}`);
  if (ref.startsWith('-')) problems.push("must not start with '-'");
  if (/\s/.test(ref)) problems.push('must not contain whitespace');
  if (problems.length === 0 && !IMAGE_REFERENCE.test(ref)) {
    const path = ref.split('@')[0]!.replace(/:[\w][\w.-]*$/, '');
    problems.push(
      /[A-Z]/.test(
        path
          .split('/')
          .slice(path.includes('/') ? 1 : 0)
          .join('/'),
      )
        ? 'repository name must be lowercase'
        : "does not follow Docker's reference grammar [registry/]name[:tag][@sha256:digest]",
    );
  }
  return problems;
}
