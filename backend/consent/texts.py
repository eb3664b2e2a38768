"""The three official SMS texts of the joint order No. 341 / 556/НҚ (17 Nov 2023), Annex 1 to the
interaction algorithm, and the help reply.

Kazakh: verbatim from the order (/work/shared/reference/001_*.txt), blanks filled with the parent's and
child's names, reply codes taken from Settings. Russian: the project's translation of the same texts;
the reference set holds only the Kazakh version, so replace it with the official Russian wording when
it is received. Language: the parent's preference, "kk+ru" (both, Kazakh first) unless stated.
"""

from __future__ import annotations

import enum


class Lang(enum.StrEnum):
    KK = "kk"
    RU = "ru"
    BOTH = "kk+ru"


REQUEST_KK = (
    "Құрметті {parent}!\n\n"
    "Сіздің балаңызға {children} жалпы білім беретін мектепте тегін  тамақтану қарастырылған.\n\n"
    "Тегін тамақтануды алу үшін мәтінмен SMS жіберіңіз: {agree}. Егер Сіз келіспесеңіз, {decline} енгізіңіз "
    "немесе осы хабарламаны елемеңіз. Жауап 3 күнтізбелік күн ішінде беру керек.\n\n"
    '{agree} мәтінді жіберген кезде Сіз "Дербес деректер және оларды қорғау туралы" Қазақстан '
    'Республикасы Заңының 8-бабына сәйкес "Жалпы білім беретін мектептердегі білім алушылар мен '
    'тәрбиеленушілердің жекелеген санаттарын тегін және жеңілдікпен тамақтандыруды ұсыну" мемлекеттік '
    "қызметін көрсету үшін қажетті жалпыға бірдей қолжетімді дербес деректерді және қолжетімділігі "
    "шектеулі дербес деректерді жинауға және өңдеуге өз келісіміңізді растайсыз.\n\n"
    "Осы Келісім көрсетілген мемлекеттік қызметті көрсету кезеңінде қолданылады. Дербес деректерді "
    "үшінші тұлғаларға берудің және трансшекаралық берудің жоқтығын атап өтеміз.\n\n"
    "Барлық сұрақтар бойынша 1414 нөмірі бойынша Call-орталыққа хабарласа аласыз. Қоңырау шалу тегін."
)
REQUEST_RU = (
    "Уважаемый(ая) {parent}!\n\n"
    "Вашему ребенку {children} предусмотрено бесплатное питание в общеобразовательной школе.\n\n"
    "Для получения бесплатного питания отправьте SMS с текстом: {agree}. Если Вы не согласны, введите "
    "{decline} или проигнорируйте это сообщение. Ответ необходимо дать в течение 3 календарных дней.\n\n"
    "Отправляя текст {agree}, Вы подтверждаете свое согласие на сбор и обработку общедоступных "
    "персональных данных и персональных данных ограниченного доступа, необходимых для оказания "
    'государственной услуги "Предоставление бесплатного и льготного питания отдельным категориям '
    'обучающихся и воспитанников в общеобразовательных школах", в соответствии со статьей 8 Закона '
    'Республики Казахстан "О персональных данных и их защите".\n\n'
    "Настоящее Согласие действует в период оказания указанной государственной услуги. Отмечаем "
    "отсутствие передачи персональных данных третьим лицам и трансграничной передачи.\n\n"
    "По всем вопросам Вы можете обратиться в Call-центр по номеру 1414. Звонок бесплатный."
)
DECLINED_KK = "Сіз қызметтен бас тарттыңыз."
DECLINED_RU = "Вы отказались от услуги."
AGREED_KK = (
    "Тегін тамақтану туралы келісіміңіз оң өңделді. Цифрлық ваучерді алу үшін {link} сілтемесі арқылы "
    'Egov mobile электрондық үкіметінің мобильді қосымшасындағы "Әлеуметтік әмиян" қосымшасына тіркелу қажет.'
)
AGREED_RU = (
    "Ваше согласие на бесплатное питание обработано положительно. Для получения цифрового ваучера "
    'необходимо зарегистрироваться в приложении "Социальный кошелек" мобильного приложения '
    "электронного правительства Egov mobile по ссылке {link}."
)
# Not an official text: the answer to a reply that is neither code.
HELP_KK = "Жауап ретінде {agree} (келісемін) немесе {decline} (бас тартамын) жіберіңіз."
HELP_RU = "Ответьте {agree} (согласен) или {decline} (отказываюсь)."


def _pick(lang: str, kk: str, ru: str) -> str:
    if lang == Lang.KK:
        return kk
    if lang == Lang.RU:
        return ru
    return f"{kk}\n\n{ru}"


def request_text(lang: str, *, parent: str, children: list[str], agree: str, decline: str) -> str:
    names = ", ".join(children)
    fields = {"parent": parent, "children": names, "agree": agree, "decline": decline}
    return _pick(lang, REQUEST_KK.format(**fields), REQUEST_RU.format(**fields))


def declined_text(lang: str) -> str:
    return _pick(lang, DECLINED_KK, DECLINED_RU)


def agreed_text(lang: str, *, link: str) -> str:
    return _pick(lang, AGREED_KK.format(link=link), AGREED_RU.format(link=link))


def help_text(lang: str, *, agree: str, decline: str) -> str:
    return _pick(
        lang, HELP_KK.format(agree=agree, decline=decline), HELP_RU.format(agree=agree, decline=decline)
    )


# Not official texts: a reply that came after its request was closed, and how to be asked again.
CLOSED_KK = (
    "Тегін тамақтану туралы сұраудың мерзімі аяқталды, жауабыңыз қабылданбады. Қайта сұрау алу үшін "
    "мектептің әлеуметтік педагогіне немесе аудандық білім бөліміне хабарласыңыз; олар сұрауды қайта жібереді."
)
CLOSED_RU = (
    "Запрос о бесплатном питании уже закрыт, ваш ответ не принят. Чтобы получить запрос снова, "
    "обратитесь к социальному педагогу школы или в районный отдел образования: они отправят его повторно."
)


def closed_text(lang: str) -> str:
    return _pick(lang, CLOSED_KK, CLOSED_RU)
