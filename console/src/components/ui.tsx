/** The console's building blocks: plain elements with the classes of styles.css. */
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api.ts';
import { useAction } from '../hooks.ts';
import { formatDate, formatDateTime, formatRelative, formatSeconds } from '../format.ts';
import { hasKey, useI18n, type Translate } from '../i18n.ts';
import { navigate } from '../router.ts';

export function cx(...names: (string | false | null | undefined)[]): string {
  return names.filter(Boolean).join(' ');
}

/** A localized sentence for any error an action or a load can throw. */
export function errorText(error: unknown, t: Translate, lang: 'en' | 'ru', context?: 'operator'): string {
  if (error instanceof ApiError) {
    const specific = `err.${error.code}.${context ?? ''}`;
    let text = hasKey(specific) ? t(specific) : hasKey(`err.${error.code}`) ? t(`err.${error.code}` as Parameters<Translate>[0]) : error.message;
    if (error.retryAfterSeconds) text += ' ' + t('signin.retryIn', { time: formatSeconds(error.retryAfterSeconds, lang) });
    return text;
  }
  return t('common.error');
}

/** The message for one field, if the server blamed it. */
export function fieldError(error: unknown, name: string, t: Translate): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const f = error.field(name);
  if (!f) return undefined;
  // Schema validation names the rule it broke: say it in the reader's language, not the validator's words.
  switch (f.code) {
    case 'required':
    case 'minLength':
      return t('err.field.required');
    case 'minItems':
      return t('err.field.minItems');
    case 'maxItems':
      return t('err.field.maxItems');
    case 'maxLength': {
      const limit = /(\d+)/.exec(f.message)?.[1];
      return limit ? t('err.field.maxLength', { limit }) : t('err.field.tooLong');
    }
    case 'pattern':
    case 'format':
      return t('err.field.pattern');
    case 'type':
    case 'enum':
    case 'const':
    case 'anyOf':
    case 'oneOf':
    case 'additionalProperties':
      return t('err.field.invalid');
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return t('err.field.range');
  }
  return f.message.charAt(0).toUpperCase() + f.message.slice(1) + (f.message.endsWith('.') ? '' : '.');
}

export function Button(props: {
  children: ReactNode;
  onClick?: () => void;
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  size?: 'sm' | 'md';
  type?: 'button' | 'submit';
  busy?: boolean;
  disabled?: boolean;
  title?: string;
  testId?: string;
}): ReactNode {
  const { variant = 'secondary', size = 'md', type = 'button' } = props;
  return (
    <button
      type={type}
      className={cx('btn', `btn-${variant}`, size === 'sm' && 'btn-sm', props.busy && 'is-busy')}
      onClick={props.onClick}
      disabled={props.disabled || props.busy}
      aria-busy={props.busy || undefined}
      title={props.title}
      data-testid={props.testId}
    >
      {props.busy && <span className="spinner spinner-inline" aria-hidden="true" />}
      {props.children}
    </button>
  );
}

export function Field(props: { label: string; hint?: string; error?: string | undefined; children: (id: string, describedBy: string | undefined) => ReactNode; optional?: boolean }): ReactNode {
  const id = useId();
  const { t } = useI18n();
  const describedBy = props.error ? `${id}-error` : props.hint ? `${id}-hint` : undefined;
  return (
    <div className={cx('field', props.error && 'has-error')}>
      <label htmlFor={id}>
        {props.label}
        {props.optional && <span className="optional"> · {t('common.optional')}</span>}
      </label>
      {props.children(id, describedBy)}
      {props.error ? (
        <div className="field-error" id={`${id}-error`} role="alert">
          {props.error}
        </div>
      ) : props.hint ? (
        <div className="field-hint" id={`${id}-hint`}>
          {props.hint}
        </div>
      ) : null}
    </div>
  );
}

export function PageHeader(props: { title: string; subtitle?: string; actions?: ReactNode }): ReactNode {
  return (
    <header className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p className="subtitle">{props.subtitle}</p>}
      </div>
      {props.actions && <div className="page-actions">{props.actions}</div>}
    </header>
  );
}

export function Card(props: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; testId?: string }): ReactNode {
  return (
    <section className={cx('card', props.className)} data-testid={props.testId}>
      {(props.title || props.actions) && (
        <div className="card-header">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div className="card-actions">{props.actions}</div>}
        </div>
      )}
      {props.children}
    </section>
  );
}

export function Loading(): ReactNode {
  const { t } = useI18n();
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      {t('common.loading')}
    </div>
  );
}

export function ErrorNotice(props: { error: unknown; onRetry?: () => void; context?: 'operator' }): ReactNode {
  const { t, lang } = useI18n();
  return (
    <div className="notice notice-error" role="alert">
      <span>{errorText(props.error, t, lang, props.context)}</span>
      {props.onRetry && (
        <Button size="sm" variant="ghost" onClick={props.onRetry}>
          {t('common.retry')}
        </Button>
      )}
    </div>
  );
}

/** "Show inactive (n)" above a list that hides what no longer works; shown only when it changes something. */
export function ShowInactive(props: { hidden: number; checked: boolean; onChange: (checked: boolean) => void; label: string }): ReactNode {
  if (props.hidden === 0 && !props.checked) return null;
  return (
    <label className="checkbox">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange(e.target.checked)} /> {props.label}
      {props.hidden > 0 ? ` (${props.hidden})` : ''}
    </label>
  );
}

export function EmptyState(props: { icon: ReactNode; title: string; hint?: string; action?: ReactNode }): ReactNode {
  return (
    <div className="empty">
      <div className="empty-icon" aria-hidden="true">
        {props.icon}
      </div>
      <h3>{props.title}</h3>
      {props.hint && <p>{props.hint}</p>}
      {props.action}
    </div>
  );
}

const BADGE_TONE: Record<string, string> = {
  active: 'green',
  grace: 'amber',
  pending: 'blue',
  retiring: 'amber',
  disabled: 'gray',
  revoked: 'red',
  expired: 'gray',
  replaced: 'gray',
  retired: 'gray',
  delivered: 'green',
  failed: 'red',
};

export function StatusBadge(props: { status: string }): ReactNode {
  const { t } = useI18n();
  const key = `status.${props.status}`;
  return <span className={cx('badge', `badge-${BADGE_TONE[props.status] ?? 'gray'}`)}>{hasKey(key) ? t(key) : props.status}</span>;
}

export function Modal(props: { title: string; onClose: () => void; children: ReactNode; footer?: ReactNode; testId?: string }): ReactNode {
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const { onClose } = props;
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.modal-close)');
    first?.focus();
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} data-testid={props.testId}>
        <div className="modal-header">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="modal-close" onClick={onClose} aria-label={t('common.close')}>
            ×
          </button>
        </div>
        <div className="modal-body">{props.children}</div>
        {props.footer && <div className="modal-footer">{props.footer}</div>}
      </div>
    </div>
  );
}

/**
 * The error of a form's action, unless one of `fields` (shown next to its input) already carries
 * it: the server blames a field, or the whole request.
 */
export function FormError(props: { error: unknown; fields?: readonly string[] }): ReactNode {
  const { t, lang } = useI18n();
  if (!props.error || props.fields?.some((f) => fieldError(props.error, f, t))) return null;
  return (
    <div className="notice notice-error" role="alert">
      {errorText(props.error, t, lang)}
    </div>
  );
}

/**
 * A dialog around one form: its inputs, Cancel, the submit button (busy while the action runs;
 * Enter submits too) and the action's error (see FormError).
 */
export function FormDialog(props: {
  title: string;
  submitLabel: string;
  submitTestId: string;
  submitVariant?: 'primary' | 'danger';
  /** The submit button stays off until the form is complete (a typed confirmation). */
  submitDisabled?: boolean;
  testId?: string;
  action: { busy: boolean; error: unknown };
  /** Fields whose errors show next to their inputs. */
  fields?: readonly string[];
  onSubmit: () => void;
  onClose: () => void;
  children: ReactNode;
}): ReactNode {
  const { t } = useI18n();
  return (
    <Modal
      title={props.title}
      onClose={props.onClose}
      testId={props.testId}
      footer={
        <>
          <Button variant="ghost" onClick={props.onClose}>
            {t('common.cancel')}
          </Button>
          <Button variant={props.submitVariant ?? 'primary'} busy={props.action.busy} disabled={props.submitDisabled} onClick={props.onSubmit} testId={props.submitTestId}>
            {props.submitLabel}
          </Button>
        </>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!props.submitDisabled) props.onSubmit();
        }}
        noValidate
      >
        {props.children}
        <FormError error={props.action.error} fields={props.fields} />
      </form>
    </Modal>
  );
}

/** A yes/no question before something that cannot be undone; the action's error shows inside. */
export function Confirm(props: {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}): ReactNode {
  const action = useAction(async () => {
    await props.onConfirm();
    props.onClose();
  });
  return (
    <FormDialog
      title={props.title}
      testId="confirm-dialog"
      submitLabel={props.confirmLabel}
      submitVariant={props.danger ? 'danger' : 'primary'}
      submitTestId="confirm-button"
      action={action}
      onSubmit={() => void action.run()}
      onClose={props.onClose}
    >
      <p>{props.body}</p>
    </FormDialog>
  );
}

/**
 * A list's states: its load error (with a retry), loading, and an empty card; `children` renders
 * once it has items.
 */
export function ListStates<T>(props: {
  items: readonly T[] | null;
  loading: boolean;
  error: unknown;
  onRetry: () => void;
  context?: 'operator';
  empty: ReactNode;
  children: (items: readonly T[]) => ReactNode;
}): ReactNode {
  const { items } = props;
  return (
    <>
      {props.error ? <ErrorNotice error={props.error} onRetry={props.onRetry} context={props.context} /> : null}
      {props.loading && !items ? <Loading /> : null}
      {items && items.length === 0 && <Card>{props.empty}</Card>}
      {items && items.length > 0 && props.children(items)}
    </>
  );
}

/** "Load more" under a paged table, while there is a next page. */
export function LoadMore(props: { next: string | number | null; loading: boolean; onMore: () => void }): ReactNode {
  const { t } = useI18n();
  if (props.next === null) return null;
  return (
    <div className="table-more">
      <Button onClick={props.onMore} busy={props.loading}>
        {t('common.loadMore')}
      </Button>
    </div>
  );
}

const EXPIRY_DAYS = [null, 30, 90, 365] as const;

/** How many days until a new credential (API token, service-account key) expires, or never. */
export function ExpirySelect(props: { id: string; value: number | null; onChange: (days: number | null) => void }): ReactNode {
  const { t } = useI18n();
  return (
    <select id={props.id} value={props.value ?? ''} onChange={(e) => props.onChange(e.target.value ? Number(e.target.value) : null)}>
      {EXPIRY_DAYS.map((d) => (
        <option key={d ?? 'never'} value={d ?? ''}>
          {d === null ? t('common.noExpiry') : t('common.days', { n: d })}
        </option>
      ))}
    </select>
  );
}

/** A table cell with a date, the full date and time on hover. */
export function DateCell(props: { at: number; withTime?: boolean }): ReactNode {
  const { lang } = useI18n();
  return (
    <td className="nowrap" title={formatDateTime(props.at, lang)}>
      {props.withTime ? formatDateTime(props.at, lang) : formatDate(props.at, lang)}
    </td>
  );
}

/** A table cell with a time relative to `now` ("in 3 days", "2 hours ago"), or "never". */
export function RelativeCell(props: { at: number | null; now: number; withTitle?: boolean }): ReactNode {
  const { t, lang } = useI18n();
  const { at } = props;
  return (
    <td className="nowrap" title={props.withTitle && at !== null ? formatDateTime(at, lang) : undefined}>
      {at !== null ? formatRelative(at, props.now, lang) : <span className="muted">{t('common.never')}</span>}
    </td>
  );
}

async function copyText(value: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(value);
    return true;
  } catch {
    // No Clipboard API (plain http on a non-local host): the old way, through a selection.
    const area = document.createElement('textarea');
    area.value = value;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton(props: { value: string; label?: string; testId?: string }): ReactNode {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1800);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      type="button"
      className={cx('btn', 'btn-secondary', 'btn-sm', 'copy', copied && 'is-copied')}
      onClick={() => void copyText(props.value).then(setCopied)}
      data-testid={props.testId}
    >
      {copied ? '✓ ' + t('common.copied') : props.label ?? t('common.copy')}
    </button>
  );
}

/** Shows freshly created secrets once, with copy buttons; closing it forgets them. */
export function SecretReveal(props: {
  title: string;
  items: { label: string; value: string; secret?: boolean; testId?: string }[];
  /** What to know about this secret; default: tokend keeps only its hash. */
  warning?: string;
  onDone: () => void;
}): ReactNode {
  const { t } = useI18n();
  // Esc, the backdrop and × are easy to hit by accident, and the secret is gone for good: they ask first.
  const [asking, setAsking] = useState(false);
  const ask = useCallback(() => setAsking((now) => !now), []);
  return (
    <Modal
      title={props.title}
      onClose={ask}
      testId="secret-dialog"
      footer={
        asking ? (
          <>
            <Button variant="ghost" onClick={() => setAsking(false)} testId="secret-keep-open">
              {t('secret.keepOpen')}
            </Button>
            <Button variant="danger" onClick={props.onDone} testId="secret-close-anyway">
              {t('secret.closeAnyway')}
            </Button>
          </>
        ) : (
          <Button variant="primary" onClick={props.onDone} testId="secret-done">
            {t('common.done')}
          </Button>
        )
      }
    >
      {asking && (
        <div className="notice notice-error" role="alert" data-testid="secret-close-warning">
          <strong>{t('secret.closeTitle')}</strong> {t('secret.closeBody')}
        </div>
      )}
      <div className="notice notice-warning">
        <strong>{t('secret.title')}.</strong> {props.warning ?? t('secret.warning')}
      </div>
      {props.items.map((item) => (
        <div className="secret" key={item.label}>
          <div className="secret-label">{item.label}</div>
          <div className="secret-row">
            <code className={cx('secret-value', item.secret && 'is-secret')} data-testid={item.testId}>
              {item.value}
            </code>
            <CopyButton value={item.value} testId={item.testId ? `${item.testId}-copy` : undefined} />
          </div>
        </div>
      ))}
    </Modal>
  );
}

/**
 * A link to a console page (`to` without the /console/ base): a real href, so it opens in a new
 * tab too, while a plain click moves within the page without a reload.
 */
export function Link(props: {
  to: string;
  children: ReactNode;
  className?: string;
  replace?: boolean;
  testId?: string;
  role?: string;
  current?: boolean;
  selected?: boolean;
}): ReactNode {
  return (
    <a
      href={`/console/${props.to}`}
      className={props.className}
      data-testid={props.testId}
      role={props.role}
      aria-current={props.current ? 'page' : undefined}
      aria-selected={props.selected}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to, { replace: props.replace ?? false });
      }}
    >
      {props.children}
    </a>
  );
}

export function Mono(props: { children: ReactNode; title?: string }): ReactNode {
  return (
    <code className="mono" title={props.title}>
      {props.children}
    </code>
  );
}

export const Icons = {
  apps: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <rect x="3" y="3" width="7" height="7" rx="1.5" />
      <rect x="14" y="3" width="7" height="7" rx="1.5" />
      <rect x="3" y="14" width="7" height="7" rx="1.5" />
      <rect x="14" y="14" width="7" height="7" rx="1.5" />
    </svg>
  ),
  key: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="8" cy="15" r="4" />
      <path d="M11 12l9-9M16 7l3 3M14 9l2 2" />
    </svg>
  ),
  token: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <rect x="3" y="6" width="18" height="12" rx="2" />
      <path d="M7 10h4M7 14h10" />
    </svg>
  ),
  sessions: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path d="M4 12a8 8 0 0 1 14-5.3M20 12a8 8 0 0 1-14 5.3" />
      <path d="M18 3v4h-4M6 21v-4h4" />
    </svg>
  ),
  activity: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path d="M3 12h4l3-8 4 16 3-8h4" />
    </svg>
  ),
  people: (
    <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" strokeWidth="1.6">
      <circle cx="9" cy="8" r="3.5" />
      <path d="M2.5 20c.8-3.5 3.4-5.5 6.5-5.5s5.7 2 6.5 5.5M16 4.5a3.5 3.5 0 0 1 0 7M18 14.8c1.8.7 3 2.5 3.5 5.2" />
    </svg>
  ),
};

/** Text with Markdown's inline code: `like this` is shown as code, not with its backticks. */
export function DocText(props: { text: string }): ReactNode {
  const parts = props.text.split(/`([^`]+)`/);
  return <>{parts.map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}
