"""Follow-up rewriting on made-up conversations (not the gold set's)."""

import pytest

from chat.rewrite import RuleRewriter, Turn, mentions

R = RuleRewriter()


def ask(history, question):
    return R.rewrite([Turn(q, tuple(a)) for q, a in history], question)


def test_first_question_and_self_contained_follow_up_pass_through():
    assert ask([], "What did she say?").question == "What did she say?"
    r = ask([("Who runs the port?", ["Mira Okafor"])], "When did the lighthouse open?")
    assert r.question == "When did the lighthouse open?" and not r.changed


@pytest.mark.parametrize("question, expected", [
    ("What did he announce?", "What did Tomas Brandt announce?"),
    ("Whom did she meet?", "Whom did Tomas Brandt meet?"),          # no woman named: the only person
    ("What is his party?", "What is Tomas Brandt's party?"),
    ("What did the mayor say about him?", "What did the mayor say about Tomas Brandt?"),
])
def test_person_pronouns_point_at_the_answer_to_a_who_question(question, expected):
    assert ask([("Who is the Norwegian trade minister?", ["Tomas Brandt"])], question).question == expected


def test_her_as_object_and_as_possessive():
    history = [("Who chairs the committee?", ["Ines Varga"])]
    assert ask(history, "Who criticised her?").question == "Who criticised Ines Varga?"
    assert ask(history, "Where is her office?").question == "Where is Ines Varga's office?"


def test_person_from_the_question_when_the_answer_is_not_a_person():
    history = [("What did Lukashenko announce?", ["joint military drills"])]
    assert ask(history, "When did he announce them?").question == "When did Lukashenko announce joint military drills?"


def test_it_points_at_a_country_answer_not_at_a_date_or_a_clause():
    assert ask([("Which country hosts the summit?", ["Portugal"])], "Who is its president?").question == \
        "Who is Portugal's president?"
    assert ask([("Which country hosts the summit?", ["Lesotho"])], "Who is its king?").question == "Who is Lesotho's king?"
    assert ask([("When did Norway join the alliance?", ["1949"])], "Who leads it?").question == "Who leads Norway?"
    r = ask([("What is the unit doing?", ["helping to build shelters"])], "Who funds its work?")
    assert r.question == "Who funds its work?"  # a verb phrase is no antecedent: asked as it is


def test_a_count_a_statement_or_a_kinship_word_is_no_antecedent():
    # "fifth" answers how many; it is not who "they" are.
    history = [("How many titles has the club won?", ["fifth"]), ("Who did they beat?", ["Ostrava"])]
    assert ask(history[:1], "Who do they have to thank?").question == "Who do they have to thank?"
    assert ask([("How many boats sank?", ["two dozen"])], "Where were they built?").question == "Where were they built?"
    # An answer with a finite verb is a statement.
    r = ask([("Who paid for the new pier?", ["the grants were approved by the council"])], "What will it cost?")
    assert r.question == "What will it cost?"
    # "Grandmother" is a role, never "he"; a name with May in it is still a name.
    assert ask([("Who raised the boy?", ["Grandmother"])], "Is he a citizen?").question == "Is he a citizen?"
    assert ask([("Who chairs the board?", ["Ellen May"])], "What did she say?").question == "What did Ellen May say?"


def test_a_pronoun_after_a_name_in_the_same_question_is_left_alone():
    history = [("Who is the Kremlin spokesperson?", ["Dmitry Peskov"])]
    assert ask(history, "What did Russia say about its embassy?").question == "What did Russia say about its embassy?"


def test_one_antecedent_is_not_both_they_and_it():
    r = ask([("Who reported the evacuation?", ["the Daily Courier"])], "When did they publish it?")
    assert r.question == "When did the Daily Courier publish it?"


@pytest.mark.parametrize("previous, follow_up, expected", [
    ("Who is the Polish prime minister?", "And Hungary?", "Who is the Hungarian prime minister?"),
    ("Who is Spain's foreign minister?", "What about Italy?", "Who is Italy's foreign minister?"),
    ("What did the U.K. pledge to Moldova?", "And France?", "What did France pledge to Moldova?"),
    ("What did France pledge to Moldova?", "What about the U.S.?", "What did the U.S. pledge to Moldova?"),
    ("Who negotiated for Finland in Vienna?", "And in Oslo?", "Who negotiated for Finland in Oslo?"),
    ("What did the minister say?", "And Oslo?", None),  # nothing to replace: asked as it is
    ("Who met the envoy in Vienna?", "What about Oslo?", "Who met the envoy in Oslo?"),
    ("Which state does Sen. Ana Ruiz represent?", "And Tom Hale?", "Which state does Sen. Tom Hale represent?"),
    ("Who is the Polish prime minister?", "And the Czech president?", "Who is the Czech president?"),
    ("How many ships does the fleet include?", "And how many submarines?", "How many submarines does the fleet include?"),
])
def test_ellipsis_is_completed_from_the_previous_question(previous, follow_up, expected):
    r = ask([(previous, ["x"])], follow_up)
    assert r.question == (expected if expected is not None else follow_up)


def test_ellipsis_chains_through_earlier_rewrites():
    from chat.service import ChatService

    turns = [Turn("Who is the Polish prime minister?", ("A",)), Turn("And Hungary?", ("B",))]
    resolved = ChatService(pipeline=None, rewriter=R).standalone(turns)
    assert R.rewrite(resolved, "What about Austria?").question == "Who is the Austrian prime minister?"


def test_what_else_drops_else_and_excludes_what_was_said():
    r = ask([("What did Okafor say about the harbour?", ["it needs dredging"])], "What else did she say?")
    assert r.question == "What did Okafor say?" and r.exclude == ("it needs dredging",)


def test_mentions_drop_titles_but_keep_organisation_names():
    assert [m.text for m in mentions("German Foreign Minister Annalena Baerbock")] == ["Annalena Baerbock"]
    org = mentions("What did the Ukrainian Foreign Ministry say?")
    assert [(m.text, m.person) for m in org] == [("the Ukrainian Foreign Ministry", False)]
    assert [m.kind for m in mentions("Did Canada and NATO meet Ben Wallace?")] == ["country", "thing", "person"]


def test_what_else_chains_exclude_everything_already_said():
    history = [("What did Okafor say?", ["it needs dredging"]), ("What did Okafor say?", ["the pier is too short"])]
    r = ask(history, "What else did she say?")
    assert r.question == "What did Okafor say?" and r.exclude == ("it needs dredging", "the pier is too short")


@pytest.mark.parametrize("question, expected", [
    ("What did she discuss in Kyiv?", "What did Melanie Joly discuss in Kyiv?"),  # not the man who answered
    ("What did he say?", "What did Denys Shmygal say?"),
    ("Which country's foreign minister is she?", "Which country's foreign minister is Melanie Joly?"),
])
def test_he_and_she_find_the_person_of_their_gender(question, expected):
    assert ask([("Who did Melanie Joly meet?", ["Denys Shmygal"])], question).question == expected


def test_a_possessive_ends_a_name():
    # "Kuwait's OPEC quota" names Kuwait, then OPEC: "And Qatar?" swaps the country and keeps the rest.
    assert [m.text for m in mentions("What was Kuwait's OPEC quota?")] == ["Kuwait", "OPEC"]
    assert ask([("What was Kuwait's OPEC quota?", ["948,000 bpd"])], "And Qatar?").question == \
        "What was Qatar's OPEC quota?"


def test_an_answer_naming_two_is_they_not_one_of_them():
    history = [("Which countries overproduced in February?", ["United Arab Emirates and Kuwait"])]
    assert ask(history, "What did they deny?").question == "What did United Arab Emirates and Kuwait deny?"
    history = [("Who met in Geneva?", ["Blinken and Lavrov"])]
    assert ask(history, "What did he say?").question == "What did he say?"  # which one: left as asked
    assert ask(history, "What did they agree?").question == "What did Blinken and Lavrov agree?"


def test_a_country_no_table_here_lists_is_a_place_not_a_person():
    # Qatar is in the Unicode CLDR's territory names (babel), not in DEMONYMS or PLACES.
    assert mentions("What was Qatar's quota?")[0].kind == "country"
    history = [("What was Qatar's quota?", ["300,000 bpd"])]
    assert ask(history, "What was its output in February?").question == "What was Qatar's output in February?"
    assert ask(history, "What did he say?").question == "What did he say?"


@pytest.mark.parametrize("previous, follow_up, expected", [
    ("Who first appointed Volcker?", "When?", "When was Volcker first appointed?"),
    ("Who killed the mayor?", "Where?", "Where was the mayor killed?"),
    ("Who arrested the protesters?", "When?", "When were the protesters arrested?"),
    ("Who appointed him?", "Why?", "Why was he appointed?"),
    ("Who said that?", "When?", "When?"),  # an irregular verb: left as asked
    ("Who arrested the protesters?", "How many?", "How many?"),
])
def test_a_bare_question_word_after_a_subject_question_asks_it_in_the_passive(previous, follow_up, expected):
    assert ask([(previous, ["someone"])], follow_up).question == expected


def test_and_x_after_a_which_country_question_takes_the_answers_place():
    history = [("Which country has started supplying Ukraine with anti-tank weapons?", ["the United Kingdom"])]
    assert ask(history, "And Canada?").question == "Has Canada started supplying Ukraine with anti-tank weapons?"
    # A name in another role is still swapped for one of its kind.
    assert ask([("Who is Germany's foreign minister?", ["Annalena Baerbock"])], "And Canada?").question == \
        "Who is Canada's foreign minister?"


def test_an_honorific_tells_the_gender_a_first_name_does_not():
    history = [("What did Ms. Okafor tell Mr. Hale?", ["that the lighthouse opens on Monday"])]
    assert ask(history, "What did she design?").question == "What did Okafor design?"
    assert ask(history, "What did he say?").question == "What did Hale say?"


def test_when_names_say_nothing_the_articles_pronouns_after_the_name_do():
    articles = {"Quorn Telvari": ["Mayor Quorn Telvari said he would veto the budget."],
                "Brixa Mundel": ["Brixa Mundel, the harbour master, said she had warned the council twice."]}
    history = [Turn("Who did Brixa Mundel meet?", ("Quorn Telvari",))]
    assert R.rewrite(history, "What had she warned?", about=lambda n: articles.get(n, [])).question == \
        "What had Brixa Mundel warned?"
    assert R.rewrite(history, "What would he veto?", about=lambda n: articles.get(n, [])).question == \
        "What would Quorn Telvari veto?"
    # Without the articles nothing tells them apart: the latest person, the answer.
    assert R.rewrite(history, "What had she warned?").question == "What had Quorn Telvari warned?"


def test_a_person_the_user_already_called_she_is_not_the_next_he():
    history = [Turn("Who did Quorn Telvari meet?", ("Brixa Mundel",)),
               Turn("What did Brixa Mundel say?", ("that the port will close",), asked="What did she say?")]
    assert R.rewrite(history, "What did he want?").question == "What did Quorn Telvari want?"
    assert R.rewrite(history, "What did she want?").question == "What did Brixa Mundel want?"


def test_a_pronoun_becomes_the_name_as_the_articles_use_it():
    from chat.rewrite import article_form

    passages = {"Annalena Baerbock": ["German Foreign Minister Annalena Baerbock warned Russia.",
                                      "Baerbock said Germany has offered to send cybersecurity specialists."],
                "Melanie Joly": ["Canadian Foreign Minister Melanie Joly met her counterpart."]}
    about = passages.get
    assert article_form("Annalena Baerbock", about) == "Baerbock"  # full once, then the surname
    assert article_form("Melanie Joly", about) == "Melanie Joly"  # never by surname alone there
    assert article_form("Annalena Baerbock") == "Annalena Baerbock"  # no passages to go by
    rewrite = RuleRewriter().rewrite([Turn("Who is Germany's foreign minister?", ("Annalena Baerbock",))],
                                     "What did she say about weapons?", about)
    assert rewrite.question == "What did Baerbock say about weapons?"


@pytest.mark.parametrize("role", ["German Foreign Minister", "Prime Minister", "the Defence Secretary"])
def test_a_role_answer_is_not_who_a_pronoun_means(role):
    """"Who is Okafor?" "German Foreign Minister": "she" is Okafor, never "Minister" (issue 30's example)."""
    assert mentions("German Foreign Minister") == []
    r = ask([("Who is Okafor?", [role])], "What did she offer to build?")
    assert r.question == "What did Okafor offer to build?"


@pytest.mark.parametrize("follow_up", ["What else?", "Anything else?", "who else"])
def test_a_bare_what_else_asks_the_previous_question_again_without_its_answers(follow_up):
    r = ask([("What did Okafor say about the harbour?", ["it needs dredging"])], follow_up)
    assert r.question == "What did Okafor say about the harbour?" and r.exclude == ("it needs dredging",)


@pytest.mark.parametrize("previous, answer, follow_up, expected", [
    ("What did Canada deploy?", "a small contingent of special forces", "Where?",
     "Where did Canada deploy a small contingent of special forces?"),
    ("What weapons did Britain send?", "anti-tank missiles", "And when?", "When did Britain send anti-tank missiles?"),
    ("What weapons did Britain send?", "anti-tank missiles", "How many?", "How many weapons did Britain send?"),
    ("How many weapons did Britain send?", None, "When?", "When did Britain send weapons?"),
    ("Who did Okafor meet?", "Tomas Brandt", "why?", "Why did Okafor meet Tomas Brandt?"),
    ("Why did Okafor meet Tomas Brandt?", "to talk about the port", "When?", "When did Okafor meet Tomas Brandt?"),
    ("Where was the dam built?", "on the river", "And when?", "When was the dam built?"),
    # After a yes/no question (answered with its sentence) the question word asks about the same event.
    ("Did Okafor meet Tomas Brandt?", "Okafor met Tomas Brandt in Lagos.", "Why?", "Why did Okafor meet Tomas Brandt?"),
    ("Was the dam built?", "The dam was built in 1990.", "And where?", "Where was the dam built?"),
    # A number fills the place too; a statement is "that"; the object goes before the verb's preposition.
    ("How much did the council approve?", "42 million dollars", "When?", "When did the council approve 42 million dollars?"),
    ("What did Solberg say about the new wall?", "She said the town could not afford another winter", "When?",
     "When did Solberg say that about the new wall?"),
    ("What did Britain send to Ukraine?", "light anti-armor weapons", "When?",
     "When did Britain send light anti-armor weapons to Ukraine?"),
    ("What did the mayor of Port Avalon sign on Friday?", "the harbor bill", "Why?",
     "Why did the mayor of Port Avalon sign the harbor bill on Friday?"),
])
def test_a_bare_question_word_asks_the_previous_question_again_with_it(previous, answer, follow_up, expected):
    assert ask([(previous, [answer] if answer else [])], follow_up).question == expected


@pytest.mark.parametrize("previous", ["Who is Okafor?", "Who met Okafor?", "What is the port?",
                                      "Did Okafor meet Brandt or Weller?"])
def test_a_bare_question_word_after_a_subject_or_copular_question_is_left(previous):
    assert ask([(previous, ["Tomas Brandt"])], "Where?").question == "Where?"


def test_how_many_after_a_yes_no_question_is_left():
    assert ask([("Did Britain send weapons?", ["Britain sent weapons."])], "How many?").question == "How many?"


@pytest.mark.parametrize("previous, follow_up, expected", [
    ("Was someone bought out?", "Who?", "Who was bought out?"),
    ("Did Okafor sign anything?", "And what?", "What did Okafor sign?"),
    ("Was anyone else hurt?", "who?", "Who else was hurt?"),
])
def test_who_or_what_after_a_yes_no_question_about_someone_asks_for_them(previous, follow_up, expected):
    assert ask([(previous, ["Okafor said so."])], follow_up).question == expected


@pytest.mark.parametrize("previous", ["Did Okafor sign the deal?", "What did Okafor sign?", "Who is Okafor?"])
def test_who_after_a_question_about_no_one_in_particular_is_left(previous):
    assert ask([(previous, ["the deal"])], "Who?").question == "Who?"


@pytest.mark.parametrize("previous, follow_up, expected", [
    ("Did Germany send tanks to Ukraine?", "Why not?", "Why didn't Germany send tanks to Ukraine?"),
    ("Was Okafor re-elected?", "And why not?", "Why wasn't Okafor re-elected?"),
    ("Can the dam be repaired?", "why not", "Why can't the dam be repaired?"),
])
def test_why_not_after_a_yes_no_question_asks_why_it_did_not(previous, follow_up, expected):
    assert ask([(previous, ["No."])], follow_up).question == expected
    assert ask([(previous, [])], follow_up).question == expected  # not answered: the user knows


def test_why_not_after_a_yes_is_left():
    previous = ("Did Okafor visit Lagos?", ["Speaking Monday on a visit to Lagos, Okafor said the port would open."])
    assert ask([previous], "Why not?").question == "Why not?"
    said_no = ("Did Germany send weapons?", ["Germany hasn’t changed its refusal to provide it with weapons."])
    assert ask([said_no], "Why not?").question == "Why didn't Germany send weapons?"


@pytest.mark.parametrize("previous", ["What did Germany send?", "Might Okafor resign?",
                                      "Did Okafor meet Brandt or Weller?"])
def test_why_not_after_any_other_question_is_left(previous):
    assert ask([(previous, ["tanks"])], "Why not?").question == "Why not?"


def test_the_answer_to_a_where_question_is_no_antecedent():
    history = [("Who opposed the fee increase?", ["Tomas Reyes"]),
               ("Where does the money come from?", ["regional resilience fund"])]
    assert ask(history, "Why did he oppose it?").question == "Why did Tomas Reyes oppose it?"
    # ... while the answer to a what-question still is: "it" is what was sent.
    assert ask([("What did Britain send?", ["anti-tank weapons"])], "When did it arrive?").question == \
        "When did anti-tank weapons arrive?"


def test_an_event_is_no_one_a_pronoun_can_mean():
    history = [("Who won the 2022 football World Cup?", []), ]
    assert ask(history, "What did she warn?").question == "What did she warn?"
    history = [("Who is the Norwegian trade minister?", ["Tomas Brandt"]), ("When are the Olympic Games?", [])]
    assert ask(history, "What did he say?").question == "What did Tomas Brandt say?"


def test_a_person_named_once_by_the_rewrite_keeps_the_second_pronoun():
    history = [("Who runs the harbour company?", ["Tomas Brandt"])]
    assert ask(history, "What did he say about his sales?").question == "What did Tomas Brandt say about his sales?"
    # Two people: each pronoun still finds its own.
    history = [("Who met Tomas Brandt?", ["Mira Okafor"])]
    assert ask(history, "What did she tell him?").question == "What did Mira Okafor tell Tomas Brandt?"


@pytest.mark.parametrize("answer", ['" "', "' .", "“ ”", " , ", "\u00a0", "'\u00a0'"])
def test_an_answer_of_quotes_and_spaces_only_is_no_antecedent(answer):
    """A history sent by a client can hold any text; found by fuzzing (it raised IndexError: a 500)."""
    for follow_up in ("What did he say?", "When?", "What did it cost?"):
        ask([("Who is the Kremlin spokesperson?", [answer])], follow_up)
    assert ask([("Who is the Kremlin spokesperson?", [answer])], "What did he say?").question == "What did he say?"


@pytest.mark.parametrize("history, follow_up", [
    ([("and \t", ["no"])], "What else?"),
    ([("Who is Okafor?", ["Mira Okafor"])], "And \u00a0?"),
])
def test_an_ellipsis_of_nothing_is_left_as_asked(history, follow_up):
    """Found by fuzzing (IndexError, a 500 on the chat routes)."""
    assert ask(history, follow_up).question
