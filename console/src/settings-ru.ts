/**
 * Russian descriptions of the server's settings, keyed by environment variable. The server sends
 * each setting's description in English (src/config/schema.ts, `doc`); the console shows this
 * text instead when it speaks Russian. test/console.i18n.test.ts fails, naming them, when a
 * setting has no entry here or an entry names a setting that no longer exists.
 * Text between backticks is shown as code, as in the English descriptions.
 */
export const SETTING_DOCS_RU: Readonly<Record<string, string>> = {
  TOKEND_PORT: 'TCP-порт HTTP-сервера (`0` — любой свободный).',
  TOKEND_HOST:
    'Адрес, на котором слушает сервер. По умолчанию только loopback: поставьте tokend за свой обратный прокси или осознанно укажите `0.0.0.0`.',
  TOKEND_DATA_DIR: 'Каталог встроенной базы SQLite (`tokend.db`) и создаваемых файлов. Создаётся, если его нет.',
  TOKEND_DATABASE_URL:
    'Какую базу использовать. Пусто — встроенная SQLite в `<data dir>/tokend.db`. `postgres://user:pass@host:5432/db` выбирает PostgreSQL, `sqlite:/path/file.db` — явный файл SQLite.',
  TOKEND_DATABASE_POOL_SIZE:
    'Только PostgreSQL: сколько соединений самое большее открывает один процесс tokend (и ещё одно для LISTEN). У каждого узла свой пул, поэтому узлы × (это значение + 1) должно быть меньше `max_connections` сервера (см. docs/operations.md).',
  TOKEND_DATABASE_STATEMENT_TIMEOUT:
    'Только PostgreSQL: серверный `statement_timeout` каждого соединения пула tokend (задаётся при открытии соединения). Запрос, который выполняется или ждёт дольше (например, строку, заблокированную зависшим посреди транзакции узлом), отменяется, его транзакция откатывается, а клиент получает 503 с `Retry-After`. На миграции не действует. `0` — без ограничения (см. docs/operations.md).',
  TOKEND_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT:
    'Только PostgreSQL: серверный `idle_in_transaction_session_timeout` каждого соединения пула tokend и миграций (задаётся при открытии соединения). Сервер завершает сеанс узла, застрявшего внутри транзакции (остановлен, цикл событий завис), через это время: транзакция откатывается, блокировки строк снимаются. `0` — без ограничения.',
  TOKEND_DEMO: 'Создать демо-песочницу с опубликованными, общеизвестными учётными данными и при каждом запуске возвращать её записи в опубликованный вид. Никогда не включайте в рабочей среде.',
  TOKEND_LOG_LEVEL:
    'Уровень журнала pino. Журнал — строки JSON в stdout; секреты не пишутся ни на каком уровне. Журнал доступа — одна строка на запрос: на `info` для неудачных запросов (4xx; 5xx — на `warn`), на `debug` для успешных, так что `info` почти ничего не стоит на горячем пути, а `debug` записывает каждый запрос.',
  TOKEND_TRUST_PROXY:
    'Брать адрес клиента из `X-Forwarded-For` (включайте, когда tokend работает за обратным прокси: ограничению неудачных входов по адресу нужен настоящий адрес).',
  TOKEND_BODY_LIMIT: 'Наибольший принимаемый размер тела запроса в байтах; на тело больше — 413 в формате ответа своей схемы.',
  TOKEND_MAX_HEADER_SIZE: 'Наибольший общий размер заголовков запроса в байтах; больше — 431 в формате ответа своей схемы.',
  TOKEND_CHATAPP_ENABLED: 'Обслуживать схему ChatApp (`/v1/tokens…`).',
  TOKEND_CHATAPP_ACCESS_TTL: 'Срок жизни access-токена ChatApp (по документации ChatApp — 24 часа).',
  TOKEND_CHATAPP_REFRESH_TTL: 'Срок жизни refresh-токена ChatApp (по документации ChatApp — 14 дней).',
  TOKEND_CHATAPP_DAILY_MAKE_LIMIT:
    'Успешных `tokens.make` в сутки (UTC) на пару (нормализованный email, appId) (по документации ChatApp — 100). Обновление пары не считается.',
  TOKEND_HOSTER_ENABLED:
    'Обслуживать схему hoster.by (`/service/account/create/token`, `/token/refresh`, `/token/info/access`, `/token/info/refresh`).',
  TOKEND_SERVICE_ACCESS_TTL:
    'Срок жизни access-токена сервисного аккаунта (JWT). Серверы ресурсов, проверяющие его сами по JWKS, не увидят отзыв раньше его истечения, поэтому держите срок коротким.',
  TOKEND_SERVICE_REFRESH_TTL:
    'Срок жизни refresh-токена сервисного аккаунта. Никогда не дольше срока действия ключа и предельного срока жизни сессии.',
  TOKEND_SERVICE_DAILY_CREATE_LIMIT:
    'Успешных созданий токенов (`POST /service/account/create/token`) в сутки (UTC) на ключ сервисного аккаунта; сверх этого — 429 с `Retry-After`. Обновление не считается.',
  TOKEND_JWT_ISSUER:
    '`iss` каждого access-JWT, проверяется при каждой проверке токена. Укажите публичный URL tokend, чтобы серверы ресурсов отличали его токены.',
  TOKEND_JWT_AUDIENCE: '`aud` каждого access-JWT, проверяется при каждой проверке токена: API, для которого выпускаются токены.',
  TOKEND_JWT_ALGORITHM:
    'Алгоритм новых ключей подписи: `EdDSA` (Ed25519) или `ES256` (P-256). Действует со следующего `tokend signing-key rotate` (или с первого ключа); у существующих ключей алгоритм прежний.',
  TOKEND_MASTER_KEY:
    'Любая строка не короче 32 символов; из неё выводятся (HKDF) ключи, которыми шифруются ключи подписи JWT в базе (AES-256-GCM). Пусто — ключ создаётся в `<data dir>/master.key` (права 0600) с громким предупреждением. Узлы с общей базой должны использовать один и тот же.',
  TOKEND_SIGNING_KEY_PUBLISH_DELAY:
    'После `tokend signing-key rotate` новый ключ сразу публикуется в `/.well-known/jwks.json`, а подписывает только через это время, чтобы проверяющие, кэширующие JWKS, узнали его заранее. При нескольких узлах держите больше 1m (узлы перечитывают набор ключей каждые 30 с).',
  TOKEND_INVOICEBOX_ENABLED: 'Обслуживать схему Invoicebox (`/v3/security/api/auth/auth`, `/l3/security/api/auth/auth`).',
  TOKEND_VERIFY_CACHE_TTL:
    'Сколько узел может отвечать на проверку токена из памяти. Отзыв и ротация на том же узле действуют сразу; на других узлах (и после отзыва из CLI рядом с работающим сервером) — в пределах этого времени. `0` отключает кэш.',
  TOKEND_VERIFY_CACHE_SIZE: 'Сколько проверок токенов самое большее узел держит в кэше (первыми вытесняются давно не использованные).',
  TOKEND_ADMIN_TOKEN:
    'Токен администратора (консоль, API администратора, интроспекция). Пусто — при первом запуске создаётся токен (`tdm_…`), хранится как хеш SHA-256 и один раз печатается командой `serve`.',
  TOKEND_SESSION_MAX_LIFETIME:
    'Предельный срок жизни сессии (цепочки сменяющих друг друга пар токенов): никакое обновление не продлит сессию дальше него.',
  TOKEND_REFRESH_REUSE_GRACE:
    'Уже заменённый refresh-токен, предъявленный повторно в течение этого времени, просто отклоняется (клиент повторяет запрос, ответ на который потерялся); позже он считается украденным, и отзывается вся сессия (RFC 9700, 4.14).',
  TOKEND_LOGIN_MAX_FAILURES_PER_ACCOUNT:
    'Сколько неудачных входов по одному email допускается в окне подсчёта, прежде чем следующие попытки для этого email получат 429. Считаются только неудачи.',
  TOKEND_LOGIN_MAX_FAILURES_PER_ADDRESS:
    'Сколько неудачных входов с одного адреса клиента допускается в окне подсчёта, прежде чем следующие попытки с него получат 429. Считаются только неудачи.',
  TOKEND_LOGIN_FAILURE_WINDOW: 'Фиксированное окно, в котором считаются неудачные входы.',
  TOKEND_CONSOLE_IDLE_TIMEOUT: 'Вход в консоль (личный кабинет или оператор) завершается после такого времени без запросов.',
  TOKEND_CONSOLE_SESSION_LIFETIME:
    'Предельный срок входа в консоль: активность не продлевает его дальше; потом нужно войти снова.',
  TOKEND_ARGON2_MEMORY_KIB:
    'Затраты памяти argon2id в КиБ для новых хешей паролей (минимум OWASP: 19456 при t=2, p=1). Существующие хеши сохраняют свои параметры.',
  TOKEND_ARGON2_ITERATIONS: 'Затраты времени argon2id (число итераций).',
  TOKEND_ARGON2_PARALLELISM: 'Параллелизм argon2id (число дорожек).',
};
