"""The words of names that say a secret or personal data: the vocabulary matched on the
words of an undeclared field's name, read as the name shows (run together, in lookalike
letters, in another language). Part of the one classifier (`domain.secrets`), which decides
with declared types first and these rules after; credentials in values and free text are in
`domain.secret_words`."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache


class Sensitivity(StrEnum):
    PUBLIC = "public"
    PERSONAL = "personal"
    SECRET = "secret"


SECRET_WORDS = frozenset(
    {
        *("password", "passwords", "passwd", "pwd", "passphrase", "pass", "secret", "secrets"),
        *("token", "tokens", "auth", "authorization", "cookie", "cookies", "session"),
        *("credential", "credentials", "bearer", "signature", "pin", "otp", "cvv", "cvc"),
        *("passcode", "passkey", "creditcard", "cardnumber", "pw", "jwt", "psw", "creds"),
        # The word for a password in languages a restaurant's systems are often set up in.
        *("passwort", "kennwort", "contrasena", "senha", "wachtwoord", "losenord", "haslo"),
        "clave",
    }
)
SECRET_LAST_WORDS = frozenset({"key", "keys"})  # apiKey, access_key; not keyboard, turkey
PERSONAL_WORDS = frozenset(
    {
        *("email", "phone", "mobile", "address", "addresses", "surname", "surnames"),
        # a person's identifiers, sealed with the organisation's key and erased with it
        *("ssn", "dob", "birth", "birthday", "birthdate", "iban", "passport"),
        # a field about a person holds that person's data, whatever its shape (`owner`,
        # `contact_name`, `person: {"name": ...}`)
        *("owner", "owners", "contact", "contacts", "person", "persons", "people"),
        # a surname or first name in the languages a restaurant's systems are often set up in
        *("nachname", "vorname", "familienname", "apellido", "apellidos", "sobrenome"),
    }
)
# A name that is a person's: `name` with one of these (`first_name`, `lastName`, `fullname`);
# `name` alone is the restaurant's.
PERSON_NAME_WORDS = frozenset({"first", "last", "given", "family", "full", "middle", "maiden"})
# A person's bank account (`bank_account`, `bankAcct`, `bank_routing`).
BANK_ACCOUNT_WORDS = frozenset({"account", "acct", "routing"})
# An identifier a tax authority gives a person (`tax_id`, `taxNumber`).
TAX_ID_WORDS = frozenset({"id", "number", "num", "no", "nr", "code"})
# A card's number is a credential: `card` with one of these (`card_number`, `cardNo`).
CARD_NUMBER_WORDS = frozenset({"number", "num", "no", "nr", "credit", "debit"})
# What proves who one is beside a password is a credential too: a second factor's or a
# recovery code (`mfa_code`, `recovery_codes`, `backup_code`), a security question's answer.
SECOND_FACTOR_WORDS = frozenset({"mfa", "factor", "totp", "recovery", "backup", "verification"})
CODE_WORDS = frozenset({"code", "codes", "seed"})
ANSWER_WORDS = frozenset({"answer", "answers"})
# Words a secret's name is made of beside the words above, so a name written as one word
# (`apikey`, `accesstoken`, `sessionid`) reads as the words it is made of. A word is read so
# only when it is made of these and the words above alone: `passenger`, `bypass` and
# `keyboard` are not.
_JOINED_WORDS = frozenset(
    {
        *("api", "access", "client", "service", "private", "public", "app", "auth", "refresh"),
        *("id", "new", "old", "current", "confirm", "confirmation", "user", "master", "admin"),
        *("root", "db", "login", "web", "hook", "basic", "signing", "encryption", "code"),
        *(
            "card",
            "gift",
            "security",
            "one",
            "time",
            "word",
            "mot",
            "de",
            "passe",
            "name",
            "second",
        ),
        *("tax", *CARD_NUMBER_WORDS, *PERSON_NAME_WORDS, *TAX_ID_WORDS),
        *("bank", *BANK_ACCOUNT_WORDS),
        *SECOND_FACTOR_WORDS,
        *CODE_WORDS,
        *ANSWER_WORDS,
    }
)
_VOCABULARY = SECRET_WORDS | SECRET_LAST_WORDS | PERSONAL_WORDS | _JOINED_WORDS
# Words that say a secret wherever they stand in a name, run on with other text or not
# (`mypassword`, `xtoken`, `mot_de_passe`); the longer ones even across the name's words.
_SECRET_STEMS = (
    *("password", "passwd", "passphrase", "passcode", "secret", "token", "credential"),
    *("apikey", "privatekey", "accesskey"),
)
_LONG_STEMS = (
    *("password", "passphrase", "credential", "passwort", "kennwort", "contrasena"),
    *("wachtwoord", "motdepasse", "palavrapasse", "creditcard", "cardnumber", "haslo"),
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Letters of the Cyrillic and Greek scripts drawn as Latin ones are (`pаssword` with a
# Cyrillic `а`): a name written with them reads as the Latin name it shows.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕкмтвнАЕОРСУХІЈЅКМТВНαοριτνκεΑΟΡΙΤΝΚΕΒΗΖΜΥΧ",
    "aeopcyxijskmtbhAEOPCYXIJSKMTBHaopitvkeAOPITNKEBHZMYX",
)


def words_of(name: str) -> list[str]:
    """The lower-case words of a camelCase, snake_case or kebab-case name."""
    return [word.lower() for word in _WORD.findall(name)]


# Latin letters with a stroke or a bar, which no decomposition splits into letter and mark
# (`hasło`, Polish for password): read as the letters they are written on.
_STROKED = str.maketrans("łŁøØđĐħĦŧŦƀɨ", "lLoOdDhHtTbi")


def as_read(name: str) -> str:
    """`name` as it reads: compatibility forms (fullwidth, mathematical letters) as their
    letters, accents, strokes and invisible characters (a zero-width space, a direction mark)
    dropped, and Cyrillic or Greek letters drawn as Latin ones taken for those."""
    if name.isascii():
        return name
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    return kept.translate(_LOOKALIKES).translate(_STROKED)


# The word for a password in scripts whose words are not split as Latin ones are (Russian,
# Chinese, Japanese, Korean), as `as_read` shows them: a secret's name wherever it stands.
_OTHER_SCRIPT_STEMS = tuple(
    as_read(stem).lower() for stem in ("пароль", "密码", "密碼", "パスワード", "비밀번호")
)


def _pieces(word: str) -> list[str]:
    """`word` as the fewest words of the vocabulary it is made of, or as itself when it is
    not made of them alone."""
    if word in _VOCABULARY or len(word) > 60:
        return [word]
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(end):
            before = best[start]
            if before is not None and word[start:end] in _VOCABULARY:
                candidate = [*before, word[start:end]]
                found = best[end]
                if found is None or len(candidate) < len(found):
                    best[end] = candidate
    return best[-1] or [word]


def name_words(name: str) -> list[str]:
    """The words a name is read as: its words as written, each one written as a run of the
    vocabulary's words (`apikey`) split into them."""
    return [piece for word in words_of(as_read(name)) for piece in _pieces(word)]


@lru_cache(maxsize=8192)
def name_sensitivity(name: str) -> Sensitivity:
    """What an undeclared field holds, judged by the words of its name. A name of letters
    alone is also read as one word in any case: `ToKEN` or `SecRET` is not camelCase for
    `To KEN`, it is a secret's name in odd case."""
    read = name_words(name)
    shown = as_read(name)
    if not name.isascii() and any(stem in shown.lower() for stem in _OTHER_SCRIPT_STEMS):
        return Sensitivity.SECRET
    if shown.isalpha() and not shown.islower():
        whole = _sensitivity(_pieces(shown.lower()))
        if whole is not Sensitivity.PUBLIC:
            return max(whole, _sensitivity(read), key=_RANK.index)
    return _sensitivity(read)


_RANK = (Sensitivity.PUBLIC, Sensitivity.PERSONAL, Sensitivity.SECRET)


def _sensitivity(words: list[str]) -> Sensitivity:
    if not words:
        return Sensitivity.PUBLIC
    if words[-1] in SECRET_LAST_WORDS or not SECRET_WORDS.isdisjoint(words):
        return Sensitivity.SECRET
    if "card" in words and not CARD_NUMBER_WORDS.isdisjoint(words):
        return Sensitivity.SECRET
    if not SECOND_FACTOR_WORDS.isdisjoint(words) and not CODE_WORDS.isdisjoint(words):
        return Sensitivity.SECRET
    if "security" in words and not ANSWER_WORDS.isdisjoint(words):
        return Sensitivity.SECRET
    if any(stem in word for word in words for stem in _SECRET_STEMS):
        return Sensitivity.SECRET
    joined = "".join(words)
    if any(stem in joined for stem in _LONG_STEMS):
        return Sensitivity.SECRET
    if not PERSONAL_WORDS.isdisjoint(words):
        return Sensitivity.PERSONAL
    if "name" in words and not PERSON_NAME_WORDS.isdisjoint(words):
        return Sensitivity.PERSONAL
    if "tax" in words and not TAX_ID_WORDS.isdisjoint(words):
        return Sensitivity.PERSONAL
    if "bank" in words and not BANK_ACCOUNT_WORDS.isdisjoint(words):
        return Sensitivity.PERSONAL
    return Sensitivity.PUBLIC


def is_secret_key(name: str) -> bool:
    """True for an undeclared field name that holds a secret."""
    return name_sensitivity(name) is Sensitivity.SECRET


def inner_words(words: frozenset[str]) -> re.Pattern[str]:
    """An expression finding, in lower-case text, each of `words` that holds no other of them:
    text in which it finds none holds none of `words`."""
    inner = sorted(w for w in words if not any(o != w and o in w for o in words))
    return re.compile("|".join(re.escape(w) for w in inner))


# The words of a name are pieces of it, so a name the vocabulary calls secret holds one of
# these (in any case); text holding none of them gives no value to a secret's name.
SECRET_PIECES = inner_words(
    SECRET_WORDS | SECRET_LAST_WORDS | {"card", "code", "answer", *_OTHER_SCRIPT_STEMS}
)
